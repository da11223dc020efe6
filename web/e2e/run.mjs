// Browser tests of Stella's UI against a real `stella serve` (started by
// scripts/e2e-ui): playwright-core driving Debian's chromium. Every page is
// screenshotted into $STELLA_SCREENSHOTS and checked with axe-core (no
// serious or critical violation).
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const { STELLA_URL: base, STELLA_TOKEN: token, STELLA_IMAGE: image, STELLA_SCREENSHOTS: shots } = process.env;
// Set when the server runs with --operator-tenant (the token's tenant) and
// --policy-upload-dir: the tenant settings and policy uploads are tested.
const operator = process.env.STELLA_OPERATOR === '1';
assert.ok(base && token && image && shots, 'run through scripts/e2e-ui (make test-ui)');
mkdirSync(shots, { recursive: true });

const exe = process.env.CHROMIUM || '/usr/bin/chromium';
// A new, empty profile; no background connections (the network is closed).
const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'stella-chromium-')), {
  executablePath: exe,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 860 },
  acceptDownloads: true,
  // The server's Content-Security-Policy forbids inline scripts: axe-core
  // is injected by the test, past it.
  bypassCSP: true,
}).catch((e) => { throw new Error(`chromium at ${exe} did not start (apt-get install -y chromium; scripts/setup.sh does): ${e.message}`); });
const browser = context;
const page = await context.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

let step = 0;
async function check(name) {
  step++;
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  await page.addScriptTag({ path: axePath });
  const res = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.equal(bad.length, 0, `${name}: accessibility violations:\n` + bad.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`).join('\n'));
  console.log(`ok ${step} - ${name}: screenshot and axe (${res.violations.length} minor)`);
}

try {
  // Sign in.
  await page.goto(`${base}/scans`);
  await page.waitForURL('**/login');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await check('login');
  await page.getByLabel('Token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/dashboard');
  errors.length = 0; // the refused token's 401 was expected

  // Start a scan of the fixture image and watch it finish live.
  await page.getByRole('link', { name: 'New scan' }).first().click();
  await page.getByLabel('Image reference').fill(image);
  await check('new-scan');
  await page.getByRole('button', { name: 'Scan' }).click();
  await page.waitForURL(/\/scans\/[0-9a-f-]{36}$/);
  const scanId = page.url().split('/').pop();
  await page.locator('[data-test=scan-state]', { hasText: 'done' }).waitFor({ timeout: 120_000 });
  assert.equal(await page.locator('[data-test=verdict]').innerText(), 'fail', 'debian-app fails the default policy');

  // Findings: filter and search.
  const count = async () => Number((await page.locator('[data-test=finding-count]').innerText()).split(' ')[0]);
  const all = await count();
  assert.ok(all > 10, `findings: ${all}`);
  await page.getByLabel('Severity').selectOption('CRITICAL');
  const critical = await count();
  assert.ok(critical > 0 && critical < all, `critical ${critical} of ${all}`);
  for (const row of await page.locator('[data-test=finding] td:first-child .badge').allInnerTexts()) assert.equal(row, 'CRITICAL');
  await page.getByLabel('Severity').selectOption('');
  const first = (await page.locator('[data-test=finding] td:nth-child(2) .font-mono').first().innerText()).trim();
  await page.getByLabel('Search').fill(first);
  assert.ok((await count()) >= 1 && (await count()) < all, 'search narrows the findings');
  await page.getByLabel('Search').fill('');
  await page.getByRole('button', { name: 'Severity', exact: true }).click();
  await check('scan-findings');

  await page.getByRole('tab', { name: /Components/ }).click();
  await page.getByLabel('Filter components').fill('openssl');
  await check('scan-components');
  await page.getByRole('tab', { name: /Layers/ }).click();
  await page.getByRole('heading', { name: /Layer 1/ }).waitFor();
  await check('scan-layers');

  // Download the SBOM.
  await page.getByRole('tab', { name: /Downloads/ }).click();
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'SBOM · CycloneDX' }).click()]);
  const sbom = JSON.parse(readFileSync(await dl.path(), 'utf8'));
  assert.equal(sbom.bomFormat, 'CycloneDX');
  assert.ok(sbom.components.length > 50, `SBOM components: ${sbom.components.length}`);
  await check('scan-downloads');

  // The scan list, live.
  await page.getByRole('link', { name: 'Scans', exact: true }).click();
  await page.locator(`[data-scan="${scanId}"] [data-test=state]`, { hasText: 'done' }).waitFor();
  await check('scans');

  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.getByRole('heading', { name: 'Most vulnerable images' }).waitFor();
  await page.getByRole('region', { name: 'Most vulnerable images' }).getByRole('link', { name: image }).waitFor();
  await check('dashboard');

  // Admin: create and revoke a token.
  await page.getByRole('link', { name: 'Admin' }).click();
  await page.getByLabel('Token name').fill('ci-pipeline');
  await page.getByLabel('Token role').selectOption('scanner');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = await page.locator('[data-test=secret]').innerText();
  assert.match(secret, /^stl_/, 'the new token is shown once');
  const row = page.locator('[data-token="ci-pipeline"]');
  await row.getByText('active').waitFor();

  // Users and roles: add a viewer, promote, disable, then delete.
  const bob = page.locator('[data-user="bob@example.com"]');
  const usersStatus = page.locator('[data-test=users-status]');
  await page.getByLabel('Subject', { exact: true }).fill('bob@example.com');
  await page.getByLabel('Display name', { exact: true }).fill('Bob');
  await page.getByLabel('User role').selectOption('viewer');
  await page.getByRole('button', { name: 'Add user' }).click();
  await usersStatus.filter({ hasText: 'Saved bob@example.com: viewer' }).waitFor();
  assert.equal(await bob.getByLabel('Role of bob@example.com').inputValue(), 'viewer');
  await bob.getByLabel('Role of bob@example.com').selectOption('scanner');
  await bob.getByLabel('Disable bob@example.com').check();
  await bob.getByRole('button', { name: 'Save bob@example.com' }).click();
  await usersStatus.filter({ hasText: 'Saved bob@example.com: scanner, disabled' }).waitFor();
  assert.ok(await bob.getByLabel('Disable bob@example.com').isChecked(), 'bob is disabled');
  // Signing in as ada@example.com: she may not demote herself.
  const ada = page.locator('[data-user="ada@example.com"]');
  await ada.getByLabel('Role of ada@example.com').selectOption('viewer');
  await ada.getByRole('button', { name: 'Save ada@example.com' }).click();
  await usersStatus.filter({ hasText: 'may not demote or disable yourself' }).waitFor();
  assert.ok(errors.length === 1 && errors[0].includes('409'), `only the expected 409 was logged: ${errors}`);
  errors.length = 0;

  // Tenants and quotas.
  await page.locator('[data-tenant="shop"]').waitFor();
  if (operator) {
    await page.getByLabel('Tenant name').fill('globex');
    await page.getByLabel('Scans per day (0: server default)').fill('5');
    await page.getByRole('button', { name: 'Save tenant' }).click();
    await page.locator('[data-test=tenants-status]', { hasText: 'Saved tenant globex: 5 scans per day' }).waitFor();
    await page.locator('[data-tenant="globex"]', { hasText: '0 / 5' }).waitFor();
  } else {
    await page.getByText('managed by the admins of the operator tenant').waitFor();
  }

  // Policies: test a candidate against the scan; upload, test, delete.
  await page.getByLabel('Scan id to test against').fill(scanId);
  await page.getByRole('button', { name: 'Test' }).click();
  await page.locator('[data-test=policy-result]', { hasText: 'verdict: fail' }).waitFor();
  if (operator) {
    await page.getByLabel('Candidate Rego module').fill('package org.shop\n\nimport rego.v1\n\ndeny contains "no shop images" if contains(input.image.name, "/shop/")\n');
    await page.getByLabel('File name').fill('no-shop.rego');
    await page.getByRole('button', { name: 'Upload policy' }).click();
    await page.locator('[data-test=policy-result]', { hasText: 'Uploaded no-shop.rego' }).waitFor();
    await page.locator('[data-policy="no-shop.rego"]').waitFor();
    // In force: a test with an empty candidate shows its reason.
    await page.getByLabel('Candidate Rego module').fill('');
    await page.getByRole('button', { name: 'Test' }).click();
    await page.locator('[data-test=policy-result]', { hasText: 'no shop images' }).waitFor();
  } else {
    await page.getByText('admins of the operator tenant upload them').waitFor();
  }
  await check('admin');
  if (operator) {
    await page.getByRole('button', { name: 'Delete policy no-shop.rego' }).click();
    await page.locator('[data-policy="no-shop.rego"]').waitFor({ state: 'detached' });
  }
  await bob.getByRole('button', { name: 'Delete user bob@example.com' }).click();
  await bob.waitFor({ state: 'detached' });
  await row.getByRole('button', { name: 'Revoke token ci-pipeline' }).click();
  await row.getByText('revoked').waitFor();

  assert.deepEqual(errors, [], 'no script errors in the pages');
  console.log(`ok - ${step} pages checked; screenshots in ${shots}`);
} finally {
  await browser.close();
}
