import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { parseCountIn } from "../parse.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".map": "application/json", ".json": "application/json", ".png": "image/png", ".wasm": "application/wasm",
};

/**
 * `wasmmu explore`: serve dist/ on 127.0.0.1 so that a browser can open the
 * explorer (dist/explorer/, built from explorer/ by scripts/build.mjs). The
 * page imports ../index.js, the library bundle next to it, so any static
 * server of dist/ works as well; this one only saves looking for one.
 */
export function registerExplore(program: Command): void {
  program.command("explore")
    .description("serve the browser explorer (page tables, a walk step by step, the TLB, Xen and s390 scenarios, the boot plan) on 127.0.0.1 and print its URL")
    .option("--port <n>", "TCP port (0: any free port)", parseCountIn(0, 65535), 8080)
    .action(async (o: { port: number }) => {
      // dist/cli.js is this module once bundled: dist/ is where it lives.
      const root = fileURLToPath(new URL(".", import.meta.url));
      if (!existsSync(join(root, "explorer", "index.html"))) {
        throw new Error(`the explorer is not built (no ${join(root, "explorer", "index.html")}): run npm run build`);
      }
      const server = createServer((req, res) => {
        const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
        if (path === "/" || path === "/explorer") {
          res.writeHead(302, { location: "/explorer/" }).end();
          return;
        }
        const file = normalize(join(root, path.endsWith("/") ? path + "index.html" : path));
        if (!file.startsWith(root.endsWith(sep) ? root : root + sep) || !existsSync(file) || !statSync(file).isFile()) {
          res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${path}\n`);
          return;
        }
        res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
        res.end(readFileSync(file));
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", (err: NodeJS.ErrnoException) =>
          reject(new Error(`--port ${o.port}: cannot listen on 127.0.0.1 (${err.code ?? err.message})`)));
        server.listen(o.port, "127.0.0.1", () => resolve());
      });
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : o.port;
      console.log(`wasmmu explore: http://127.0.0.1:${port}/explorer/ (Ctrl-C stops)`);
    });
}
