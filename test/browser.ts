// The browser the tests drive: Debian's Chromium through playwright-core
// (never a downloaded browser), the explorer served by `wasmmu explore` as a
// child process. WASMMU_CHROMIUM overrides /usr/bin/chromium; without a
// browser a test file says loudly that its browser tests did not run.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";

export const CHROMIUM = process.env.WASMMU_CHROMIUM ?? "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);

/** The message a browser test file prints when it cannot run (`what`: which tests). */
export function notRunMessage(what: string): string {
  return `wasmmu: ${what} DID NOT RUN: no Chromium at ${CHROMIUM}. ` +
    "Enable them with `apt-get install chromium` (or point WASMMU_CHROMIUM at a Chromium binary).";
}

/** Say it loudly, once, when the file loads. */
export function warnIfNoBrowser(what: string): void {
  if (!hasChromium) console.warn(`\n${"!".repeat(100)}\n${notRunMessage(what)}\n${"!".repeat(100)}\n`);
}

/**
 * For a browser test file: say it loudly when the file loads, and add a test
 * that always runs and reports which way the file went (`what`: which tests).
 */
export function reportBrowserTests(what: string): void {
  warnIfNoBrowser(what);
  it(`${what.toLowerCase()} run only with Chromium installed (this says whether they ran)`, () => {
    // Nothing about the browser here: this test only reports which way the file went.
    if (!hasChromium) console.warn(notRunMessage(what));
    expect(typeof hasChromium).toBe("boolean");
  });
}

/** Headless Chromium with the flags a closed network needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** `wasmmu explore --port 0` and the explorer's URL once it is listening. */
export async function startExplorer(): Promise<{ server: ChildProcess; url: string }> {
  const server = spawn(process.execPath, ["bin/wasmmu.mjs", "explore", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "", err = "";
    server.stdout!.on("data", (d: Buffer) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:\d+\/explorer\//.exec(out);
      if (m) resolve(m[0]);
    });
    server.stderr!.on("data", (d: Buffer) => { err += d; });
    server.on("exit", (code) => reject(new Error(`wasmmu explore exited (${code}): ${err}`)));
  });
  return { server, url };
}

/** A page of the explorer at 1280×800, loaded and ready; the page errors it raised. */
export async function openExplorer(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector("body[data-ready='1']");
  return { page, errors };
}

/** For a describe block: the explorer served and open in Chromium before its
 *  tests (no page errors on load), closed after; `use` receives the page. */
export function withExplorerPage(use: (page: Page) => void): void {
  let server: ChildProcess | undefined, browser: Browser | undefined;
  beforeAll(async () => {
    const started = await startExplorer();
    server = started.server;
    browser = await launchChromium();
    const { page, errors } = await openExplorer(browser, started.url);
    expect(errors).toEqual([]);
    use(page);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    server?.kill();
  });
}
