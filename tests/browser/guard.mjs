// Guard mode against what a browser really submits: Debian's Chromium
// opens each page of CASES (served by an application behind a guarded
// Apache location) and submits its form without ticking anything: a click
// on the submit button, as a person in a hurry would. Prints, per case,
// what Chromium posted and what it got back; the judging is done by
// tests/integration/test_guard_browser.py.
//   node guard.mjs '{"base": URL, "cases": [{"name", "path", "submit"}]}'
import { launch } from './chromium.mjs';

const ctx = JSON.parse(process.argv[2]);
const browser = await launch();
const report = [];
try {
  for (const c of ctx.cases) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const entry = { name: c.name };
    try {
      await page.goto(ctx.base + c.path);
      entry.tokens = await page.$$eval('input[name=consent_token]',
                                       (els) => els.length);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST',
                             { timeout: 15000 }),
        page.click(c.submit),
      ]);
      entry.posted = response.request().postData();
      entry.status = response.status();
    } catch (e) {
      entry.error = String(e);
    }
    report.push(entry);
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
