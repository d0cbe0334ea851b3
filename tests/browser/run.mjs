// Drives Debian's Chromium through every page of PAGES in every language,
// runs axe-core (WCAG 2.1 A/AA) in each, saves a screenshot of each, and
// completes the form with the mouse and with the keyboard alone.
//   node run.mjs '{"base": URL, "artifacts": DIR, ...}'
// Prints one JSON report; tests/integration/test_gates_browser.py judges.
import { mkdirSync } from 'node:fs';
import { axe, launch } from './chromium.mjs';
import { LANGUAGES, PAGES } from './pages.mjs';
import { submitForm, submitWithKeyboard } from './steps.mjs';
import { SCHEMES, takeLooks } from './look.mjs';

const ctx = JSON.parse(process.argv[2]);
mkdirSync(ctx.artifacts, { recursive: true });

async function receiptOf(page, response) {
  const header = (await response.allHeaders())['consent-receipt'] || null;
  const text = await page.textContent('main');
  return { header, shown: header !== null && text.includes(header) };
}

// Every page in both colour schemes: axe checks contrast in each.
async function visitPages(browser, lang, report) {
  for (const def of PAGES) {
    for (const scheme of SCHEMES) {
      if (!def.needs || ctx[def.needs]) {
        await visitPage(browser, def, lang, scheme, report);
      }
    }
  }
}

async function visitPage(browser, def, lang, scheme, report) {
  const context = await browser.newContext({ locale: lang,
    colorScheme: scheme,
    extraHTTPHeaders: { 'Accept-Language': lang }, bypassCSP: true });
  const page = await context.newPage();
  const entry = { name: def.name, lang, scheme, expected: def.status };
  const suffix = scheme === 'light' ? '' : '-' + scheme;
  try {
    const response = await def.visit(page, { ...ctx, lang });
    entry.status = response.status();
    entry.htmlLang = await page.getAttribute('html', 'lang');
    entry.violations = await axe(page);
    await page.screenshot({
      path: `${ctx.artifacts}/${def.name}-${lang}${suffix}.png`,
      fullPage: true });
  } catch (e) {
    entry.error = String(e);
  }
  report.pages.push(entry);
  await context.close();
}

async function scenario(browser, name, lang, report, act) {
  const context = await browser.newContext({ locale: lang,
    extraHTTPHeaders: { 'Accept-Language': lang } });
  const page = await context.newPage();
  const entry = { name, lang };
  try {
    await page.goto(ctx.base + '/newsletter');
    const response = await act(page);
    entry.status = response.status();
    Object.assign(entry, await receiptOf(page, response));
    await page.screenshot({ path: `${ctx.artifacts}/${name}-${lang}.png`,
                            fullPage: true });
  } catch (e) {
    entry.error = String(e);
  }
  report.scenarios.push(entry);
  await context.close();
}

const browser = await launch();
const report = { pages: [], scenarios: [] };
try {
  for (const lang of LANGUAGES) {
    await scenario(browser, 'mouse', lang, report, (page) =>
      submitForm(page, { email: `mouse-${lang}@example.org`,
                         ticks: ['newsletter'] }));
    await scenario(browser, 'keyboard', lang, report, (page) =>
      submitWithKeyboard(page, `keyboard-${lang}@example.org`, 'partners'));
    await visitPages(browser, lang, report);
  }
  if (ctx.look) {
    mkdirSync(ctx.look, { recursive: true });
    report.looks = await takeLooks(browser, ctx, LANGUAGES, ctx.look);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
