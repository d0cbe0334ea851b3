// The pages the browser and accessibility gates visit, in each language.
// A page is reached by `visit(page, ctx)` and must answer `status`; add a
// line here when the module gains a page (ctx carries what the Python side
// prepared: base URL, a pre-ticked token, an unsubscribe link...).
import { submitForm, setToken } from './steps.mjs';

export const LANGUAGES = ['en', 'fr'];

export const PAGES = [
  { name: 'form', status: 200,
    visit: (page, ctx) => page.goto(ctx.base + '/newsletter') },
  { name: 'confirmation', status: 200,
    visit: async (page, ctx) => {
      await page.goto(ctx.base + '/newsletter');
      return submitForm(page, { email: 'axe@example.org',
                                ticks: ['newsletter'] });
    } },
  { name: 'error-400', status: 400,
    visit: async (page, ctx) => {
      await page.goto(ctx.base + '/newsletter');
      // the browser lets it through (no dot is valid HTML), the server not
      return submitForm(page, { email: 'nobody@localhost' });
    } },
  { name: 'error-403', status: 403,
    visit: async (page, ctx) => {
      await page.goto(ctx.base + '/newsletter');
      await setToken(page, 'c1.forged');
      return submitForm(page, { email: 'axe@example.org' });
    } },
  { name: 'error-409', status: 409,
    visit: async (page, ctx) => {
      await page.goto(ctx.base + '/newsletter');
      const used = await page.inputValue('input[name=consent_token]');
      await submitForm(page, { email: 'axe@example.org' });
      await page.goto(ctx.base + '/newsletter');
      await setToken(page, used);
      return submitForm(page, { email: 'axe@example.org' });
    } },
  { name: 'error-422', status: 422, needs: 'preticked',
    visit: async (page, ctx) => {
      await page.goto(ctx.base + '/newsletter');
      await setToken(page, ctx.preticked[ctx.lang]);
      return submitForm(page, { email: 'axe@example.org' });
    } },
  { name: 'withdraw', status: 200, needs: 'withdraw',
    visit: (page, ctx) => page.goto(ctx.base + '/newsletter/withdraw') },
  { name: 'withdraw-done', status: 200, needs: 'withdraw',
    visit: async (page, ctx) => {
      await page.goto(ctx.base + '/newsletter/withdraw');
      return submitForm(page, { email: 'axe@example.org',
                                ticks: ['newsletter'] });
    } },
  { name: 'unsubscribe', status: 200, needs: 'unsubscribe',
    visit: (page, ctx) => page.goto(ctx.unsubscribe) },
  { name: 'unsubscribe-done', status: 200, needs: 'unsubscribe',
    visit: async (page, ctx) => {
      await page.goto(ctx.unsubscribe);
      return submitForm(page, {});
    } },
];
