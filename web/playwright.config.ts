import { defineConfig, devices } from "@playwright/test";

// Browser tests against a running `civil serve` (CIVIL_TEST_WEB_URL), started by .ci/run with the
// outside systems doubled (`cargo run -p e2e --example outside`). The browser is Debian's
// chromium: Playwright's own browser download is not reachable from these machines.
export default defineConfig({
  testDir: "tests",
  timeout: 90_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: process.env.CIVIL_TEST_WEB_URL ?? "http://127.0.0.1:50051",
    locale: "zh-CN",
    timezoneId: "Asia/Shanghai",
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--lang=zh-CN"],
    },
    trace: "off",
  },
  projects: [
    { name: "phone", use: { ...devices["Pixel 7"], browserName: "chromium" }, testMatch: /portal\.spec\.ts/ },
    { name: "desktop", use: { viewport: { width: 1280, height: 900 }, browserName: "chromium" }, testMatch: /console\.spec\.ts/ },
    // Last: it publishes plan v2, which every case started after it takes.
    { name: "family", use: { ...devices["Pixel 7"], browserName: "chromium" }, testMatch: /family\.spec\.ts/, dependencies: ["phone", "desktop"] },
  ],
});
