// What a person does on a page, with the mouse or the keyboard.

// Fills the fields named in `fields.email`, ticks the boxes whose value is
// in `fields.ticks`, clicks the submit button; returns the response.
export async function submitForm(page, fields) {
  if (fields.email !== undefined && await page.$('input[name=email]')) {
    await page.fill('input[name=email]', fields.email);
  }
  for (const id of fields.ticks || []) {
    const box = await page.$(`input[type=checkbox][value="${id}"]`);
    if (box) {
      await page.click(`label[for="${await box.getAttribute('id')}"]`);
    }
  }
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.click('form [type=submit]'),
  ]);
  return response;
}

export async function setToken(page, token) {
  await page.$eval('input[name=consent_token]',
                   (el, t) => { el.value = t; }, token);
}

// Only Tab, Space and Enter: types the email when the email field has
// focus, ticks the box `tick` with Space, submits with Enter on the
// button. Fails if the tab order never reaches one of them.
export async function submitWithKeyboard(page, email, tick) {
  const done = { email: false, tick: false };
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const el = await page.evaluate(() => {
      const a = document.activeElement;
      return { tag: a.tagName, type: a.type, name: a.name, value: a.value };
    });
    if (el.name === 'email' && !done.email) {
      await page.keyboard.type(email);
      done.email = true;
    } else if (el.type === 'checkbox' && el.value === tick && !done.tick) {
      await page.keyboard.press('Space');
      done.tick = true;
    } else if (el.tag === 'BUTTON' && el.type === 'submit') {
      if (!done.email || !done.tick) {
        throw new Error('reached the button before the fields: '
                        + JSON.stringify(done));
      }
      const [response] = await Promise.all([
        page.waitForNavigation(),
        page.keyboard.press('Enter'),
      ]);
      return response;
    }
  }
  throw new Error('Tab never reached the submit button');
}
