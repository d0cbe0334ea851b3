// The screenshots of the README's "Look" section: every page in a desktop
// (1280 px) and a phone (375 px) window, light and dark, en and fr, taken
// with the pages' CSP enforced (the stylesheet must load under it), and
// the facts that show the theme applied (font, tap targets, contrast
// scheme), judged by tests/integration/test_gates_browser.py.
import { PAGES } from './pages.mjs';

export const VIEWPORTS = {
  desktop: { width: 1280, height: 900 },
  phone: { width: 375, height: 740 },
  // the narrowest phones, and 1280 px at 200 % zoom is 640: checked,
  // not shown
  narrow: { width: 320, height: 640 },
  zoomed: { width: 640, height: 450 },
};
export const SCHEMES = ['light', 'dark'];

// Which pages get the full set of 8; the others are checked in a
// desktop-light-en and a phone-dark-fr window, and those of SHOWN keep
// their screenshots: enough to see them without bloating the repo.
const FULL = new Set(['form']);
const SHOWN = new Set(['form', 'confirmation', 'error-400', 'error-409',
                       'withdraw', 'unsubscribe']);

function wanted(name, lang, view, scheme) {
  if (view === 'narrow' || view === 'zoomed') {
    return scheme === 'light' && lang === 'fr';
  }
  if (FULL.has(name)) {
    return true;
  }
  return (view === 'desktop' && scheme === 'light' && lang === 'en')
    || (view === 'phone' && scheme === 'dark' && lang === 'fr');
}

// What the page looks like to a script: the theme is applied when the
// body's font is not the browser's serif default, every control is at
// least 44 px high, and nothing scrolls sideways.
async function facts(page) {
  return page.evaluate(() => {
    const body = getComputedStyle(document.body);
    const small = [];
    for (const el of document.querySelectorAll('button, input:not([type=hidden]), .consent-box label')) {
      const h = el.getBoundingClientRect().height;
      const box = el.closest('.consent-box');
      // a checkbox's target is its row: the label beside it is clickable
      const target = el.type === 'checkbox' && box
        ? box.querySelector('label').getBoundingClientRect().height : h;
      if (target < 44) {
        small.push(`${el.tagName.toLowerCase()}#${el.id || el.name}: ${target}`);
      }
    }
    return {
      font: body.fontFamily,
      background: body.backgroundColor,
      styled: document.styleSheets.length > 0
        && !/^"?Times/.test(body.fontFamily),
      small,
      overflow: document.documentElement.scrollWidth
        > document.documentElement.clientWidth,
    };
  });
}

export async function takeLooks(browser, ctx, languages, out) {
  const report = [];
  for (const def of PAGES) {
    if (def.needs && !ctx[def.needs]) {
      continue;
    }
    for (const lang of languages) {
      for (const [view, size] of Object.entries(VIEWPORTS)) {
        for (const scheme of SCHEMES) {
          if (!wanted(def.name, lang, view, scheme)) {
            continue;
          }
          const context = await browser.newContext({
            locale: lang, viewport: size, colorScheme: scheme,
            extraHTTPHeaders: { 'Accept-Language': lang },
            deviceScaleFactor: 1 });
          const page = await context.newPage();
          const entry = { name: def.name, lang, view, scheme };
          try {
            await def.visit(page, { ...ctx, lang });
            Object.assign(entry, await facts(page));
            if (SHOWN.has(def.name) && (view === 'desktop'
                                        || view === 'phone')) {
              entry.file = `${def.name}-${view}-${scheme}-${lang}.png`;
              await page.screenshot({ path: `${out}/${entry.file}`,
                                      fullPage: true });
            }
          } catch (e) {
            entry.error = String(e);
          }
          report.push(entry);
          await context.close();
        }
      }
    }
  }
  return report;
}
