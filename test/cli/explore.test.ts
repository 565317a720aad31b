// `wasmmu explore` as a real process: the static server of dist/ the browser
// explorer is opened from (the page itself: test/explorer/explorer.test.ts).
import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, wasmmu } from "./wasmmu-process.js";

/** GET a raw path (not normalised by a URL parser, so "/../" reaches the server). */
function get(port: number, path: string): Promise<{ status: number; type: string; location: string; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => { body += d; }).on("end", () =>
        resolve({ status: res.statusCode!, type: String(res.headers["content-type"] ?? ""), location: String(res.headers.location ?? ""), body }));
    }).on("error", reject).end();
  });
}

describe("wasmmu explore", () => {
  let child: ChildProcess;
  let port = 0;
  beforeAll(async () => {
    child = spawn(process.execPath, [BIN, "explore", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    port = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout!.setEncoding("utf8").on("data", (s: string) => {
        out += s;
        const m = /^wasmmu explore: http:\/\/127\.0\.0\.1:(\d+)\/explorer\/ /m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on("exit", (code) => reject(new Error(`exited with ${code}`)));
    });
  }, 30_000);
  afterAll(() => { child?.kill(); });

  it("--port 0 listens on a free port and prints the URL", () => {
    expect(port).toBeGreaterThan(0);
  });

  it("serves the page, its modules and the library bundle; / goes to the page", async () => {
    expect(await get(port, "/")).toMatchObject({ status: 302, location: "/explorer/" });
    const html = await get(port, "/explorer/");
    expect(html).toMatchObject({ status: 200, type: "text/html; charset=utf-8" });
    expect(html.body).toContain('<script type="module" src="explorer.js">');
    for (const f of ["/explorer/explorer.js", "/explorer/walk.js", "/explorer/space.js", "/index.js"]) {
      expect(await get(port, f), f).toMatchObject({ status: 200, type: "text/javascript; charset=utf-8" });
    }
    expect((await get(port, "/explorer/explorer.js")).body).toContain('from "../index.js"');
  });

  it("serves nothing outside dist/ and says what was not found", async () => {
    for (const p of ["/../package.json", "/%2e%2e/package.json", "/explorer/nope.js"]) {
      const r = await get(port, p);
      expect(r.status, p).toBe(404);
      expect(r.body, p).toMatch(/^not found: /);
    }
  });

  it("a port already in use is a one-line error naming the flag and the port", () => {
    const r = wasmmu(["explore", "--port", String(port)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`wasmmu: --port ${port}: cannot listen on 127.0.0.1 (EADDRINUSE)\n`);
  });

  it("a bad --port is a one-line error naming the flag", () => {
    for (const bad of ["65536", "-1", "http"]) {
      const r = wasmmu(["explore", "--port", bad]);
      expect(r.status, bad).toBe(1);
      expect(r.stderr.trimEnd().split("\n"), bad).toHaveLength(1);
      expect(r.stderr, bad).toContain("--port");
    }
  });
});
