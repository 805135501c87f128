// A real browser for the console's tests: Debian's Chromium driven by playwright-core, and the console built fresh
// from web/ for the test (so a test never runs against a stale dist/web).
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { build } from "vite";
import { afterEach, expect } from "vitest";

const CHROMIUM = "/usr/bin/chromium";
/**
 * Headless with no background traffic: on a machine without internet Chromium otherwise waits on connections it opens
 * by itself (component updates, sync, QUIC probes). Playwright gives each launch a fresh, temporary profile.
 */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const SCREENSHOTS = fileURLToPath(new URL("../console/screenshots/", import.meta.url));

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: the console's browser tests need Debian's chromium package. Install it with \`apt-get install -y chromium\` (.ci/run does when it is missing).`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30_000 });
}

/** Builds web/ as `npm run build` does, into a temporary folder; returns the folder to serve. */
export async function buildConsole(): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), "debrief-console-"));
  await build({
    configFile: fileURLToPath(new URL("../../web/vite.config.ts", import.meta.url)),
    build: { outDir, emptyOutDir: true },
    logLevel: "warn",
  });
  return outDir;
}

/** A full-page screenshot under test/console/screenshots/ (git-ignored), for a reviewer to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * Opens pages (1280×900, a fresh context each) on the browser `browser()` gives once it is launched; an error thrown by
 * the console's scripts on any of them fails the test it happened in, not a blank page someone has to notice. Call it
 * at a test file's top level: it registers the check after each test.
 */
export function watchedPages(browser: () => Browser): () => Promise<Page> {
  const pageErrors: Error[] = [];
  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });
  return async () => {
    const context = await browser().newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error));
    return page;
  };
}
