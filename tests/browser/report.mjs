// consentctl report --format html in Debian's Chromium: each file given is
// opened from disk with the network cut off, screenshot (screen) and
// printed (A4 PDF), and what a reader would see is measured: how many
// chart marks are drawn, how many pixels of each chart are not blank, the
// page's language and headings, anything it tried to fetch.
//   node report.mjs '{"files": [{"lang": "en", "path": F}], "artifacts": DIR}'
// Prints one JSON report; tests/integration/test_report.py judges.
import { mkdirSync } from 'node:fs';
import { axe, launch } from './chromium.mjs';

const ctx = JSON.parse(process.argv[2]);
mkdirSync(ctx.artifacts, { recursive: true });

// Each chart drawn onto a canvas: the share of its pixels that are not
// white says whether the chart shows anything.
async function charts(page) {
  return page.evaluate(async () => {
    const out = [];
    for (const svg of document.querySelectorAll('figure svg')) {
      const box = svg.getBoundingClientRect();
      const marks = [...svg.querySelectorAll('rect')].filter(
        (r) => r.getBoundingClientRect().width > 0
          && r.getBoundingClientRect().height > 0).length;
      const img = new Image();
      const xml = new XMLSerializer().serializeToString(svg);
      img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(xml);
      await img.decode();
      const c = document.createElement('canvas');
      c.width = Math.round(box.width);
      c.height = Math.round(box.height);
      const g = c.getContext('2d');
      g.fillStyle = '#fff';
      g.fillRect(0, 0, c.width, c.height);
      g.drawImage(img, 0, 0, c.width, c.height);
      const px = g.getImageData(0, 0, c.width, c.height).data;
      let inked = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i] < 240 || px[i + 1] < 240 || px[i + 2] < 240) {
          inked += 1;
        }
      }
      out.push({ title: svg.querySelector('title').textContent,
                 width: box.width, height: box.height, marks,
                 inked: inked / (c.width * c.height) });
    }
    return out;
  });
}

async function visit(browser, file) {
  const context = await browser.newContext({ locale: file.lang,
                                             bypassCSP: true });
  const page = await context.newPage();
  const url = 'file://' + file.path;
  const fetched = [];
  await page.route('**/*', (route) => {
    if (route.request().url() !== url) {
      fetched.push(route.request().url());
      return route.abort();
    }
    return route.continue();
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.setViewportSize({ width: 1000, height: 1400 });
  await page.goto(url);
  const entry = {
    lang: file.lang,
    htmlLang: await page.getAttribute('html', 'lang'),
    title: await page.title(),
    headings: await page.$$eval('h2', (hs) => hs.map((h) => h.textContent)),
    scripts: await page.$$eval('script', (s) => s.length),
    charts: await charts(page),
    overflow: await page.evaluate(() => document.documentElement.scrollWidth
      > document.documentElement.clientWidth),
    fetched,
    errors,
  };
  entry.screenshot = `${ctx.artifacts}/report-${file.lang}.png`;
  await page.screenshot({ path: entry.screenshot, fullPage: true });
  await page.emulateMedia({ media: 'print' });
  // A4 is 210 mm: at 96 dpi less the margins, about 700 px of text
  await page.setViewportSize({ width: 700, height: 1000 });
  entry.printOverflow = await page.evaluate(() =>
    document.documentElement.scrollWidth > document.documentElement.clientWidth);
  entry.pdf = `${ctx.artifacts}/report-${file.lang}.pdf`;
  const pdf = await page.pdf({ path: entry.pdf, format: 'A4',
                               preferCSSPageSize: true,
                               printBackground: true });
  entry.pdfPages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g)
                    || []).length;
  entry.violations = await axe(page);
  entry.fetched = fetched;
  await context.close();
  return entry;
}

const browser = await launch();
const report = { files: [] };
try {
  for (const file of ctx.files) {
    try {
      report.files.push(await visit(browser, file));
    } catch (e) {
      report.files.push({ lang: file.lang, error: String(e) });
    }
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
