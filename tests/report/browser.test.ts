/**
 * Reports in a real browser (Debian Chromium through playwright-core): each kind opens with no
 * console errors and no network requests, its key numbers in the DOM equal those in the results
 * document, planted XSS payloads render as text and run nothing, a screenshot is saved under
 * tests/output/, and the PDF has text and a plausible page count.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BiasResult } from '../../src/bias/result.js';
import { resultEnvelope, resultsJson } from '../../src/core/results.js';
import type { ProvenanceResults } from '../../src/provenance/result.js';
import { openBrowser, type BrowserSession } from '../../src/report/browser.js';
import { formatDecimal, formatPercent } from '../../src/report/helpers.js';
import { htmlToPdf } from '../../src/report/pdf.js';
import { renderReport } from '../../src/report/render.js';
import type { DemoResult } from '../../src/report/result.js';
import type { ScreenEvalResults, ScreenRunResults } from '../../src/screen/result.js';
import { biasDocument, screenDocument, screenEvalDocument, XSS } from './documents.js';
import { HOSTILE_NAME, provenanceDocument } from './provenance-fixture.js';

const OUTPUT = join(process.cwd(), 'tests', 'output');

interface Opened {
  page: Page;
  consoleErrors: string[];
  requests: string[];
}

let browser: BrowserSession;
const html: Record<string, string> = {};
const docs: { bias: BiasResult; screen: ScreenRunResults; eval: ScreenEvalResults; provenance: ProvenanceResults; demo: DemoResult } = {} as never;

/** Reports are served from a made-up origin, so any relative or absolute URL in them would be a request we see. */
const ORIGIN = 'http://reports.vigil.test';

async function open(kind: string): Promise<Opened> {
  const page = await browser.context.newPage();
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  const reportUrl = `${ORIGIN}/${kind}.html`;
  // Every request except the report itself is recorded and refused (inline data: URIs never reach the router).
  await page.route('**/*', async (route) => {
    if (route.request().url() === reportUrl) {
      await route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html[kind] });
    } else {
      requests.push(route.request().url());
      await route.abort();
    }
  });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(reportUrl, { waitUntil: 'load' });
  return { page, consoleErrors, requests };
}

async function finish(kind: string, opened: Opened): Promise<void> {
  // Give any deferred payload (onerror of a broken image, a timer) the chance to run.
  await opened.page.waitForTimeout(200);
  expect(await opened.page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
  expect(await opened.page.locator('script').count()).toBe(0);
  expect(opened.consoleErrors).toEqual([]);
  expect(opened.requests).toEqual([]);
  await opened.page.screenshot({ path: join(OUTPUT, `report-${kind}.png`), fullPage: true });
  await opened.page.close();
}

async function dataValue(page: Page, selector: string): Promise<number> {
  const value = await page.locator(selector).first().getAttribute('data-value');
  expect(value, selector).not.toBeNull();
  return Number(value);
}

beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'vigil-browser-'));
  const evidence = { image: join(dir, 'upload.png'), spectrum: join(dir, 'spectrum.png'), heatmap: join(dir, 'heatmap.png') };
  await sharp({ create: { width: 300, height: 200, channels: 3, background: '#88aacc' } }).png().toFile(evidence.image);
  await sharp({ create: { width: 64, height: 64, channels: 3, background: '#202020' } }).png().toFile(evidence.spectrum);
  await sharp({ create: { width: 14, height: 14, channels: 3, background: '#cc3311' } }).png().toFile(evidence.heatmap);
  docs.bias = biasDocument();
  docs.screen = screenDocument(evidence);
  docs.eval = screenEvalDocument();
  docs.provenance = await provenanceDocument(dir);
  docs.demo = {
    ...resultEnvelope('demo'),
    schema: 'vigil/demo',
    seconds: 12.5,
    reports: [
      { schema: 'vigil/bias', title: 'Bias audit', description: XSS.label, report: 'bias/report.html', results: 'bias/results.json', verdict: 'fail', headline: { label: 'FAIL', tone: 'bad', text: XSS.label }, highlights: [{ label: 'Thresholds failed', value: '1' }], seconds: 3 },
      { schema: 'vigil/provenance', title: 'Provenance', description: 'sign and verify', report: 'provenance/report.html', results: 'provenance/results.json', verdict: 'trusted', headline: { label: 'TRUSTED', tone: 'good', text: 'all 1 file(s) have intact provenance' }, highlights: [], seconds: 1 },
    ],
  };
  html.bias = await renderReport(docs.bias);
  html.screen = await renderReport(docs.screen);
  html.eval = await renderReport(docs.eval, { baseDir: dir });
  html.provenance = await renderReport(docs.provenance, { baseDir: dir });
  html.demo = await renderReport(docs.demo);
  for (const [kind, text] of Object.entries(html)) writeFileSync(join(OUTPUT, `report-${kind}.html`), text);
  browser = await openBrowser();
});

afterAll(async () => {
  await browser?.close();
});

describe('reports in Chromium', () => {
  it('control: the harness does see a payload that runs', async () => {
    // Without this, a broken harness (events not wired, evaluate in another world) would pass everything.
    html.control = `<!DOCTYPE html><p>${XSS.label}</p>`;
    const opened = await open('control');
    await opened.page.waitForTimeout(200);
    expect(await opened.page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBe(1);
    expect(opened.requests.length).toBeGreaterThan(0); // the broken image was requested
    await opened.page.close();
  });

  it('bias: numbers match results.json, labels stay text', async () => {
    const opened = await open('bias');
    const { page } = opened;
    for (const feature of docs.bias.audits[0].features) {
      for (const group of feature.groups) {
        for (const metric of ['accuracy', 'selection_rate', 'error_rate'] as const) {
          const selector = `table.metrics[data-attribute="${feature.attribute}"] tr[data-group="${group.name.replace(/"/g, '\\"')}"] td[data-metric="${metric}"]`;
          const expected = feature.by_group[group.name][metric]!.value as number;
          expect(await dataValue(page, selector)).toBeCloseTo(expected, 12);
          expect((await page.locator(selector).first().innerText()).split('\n')[0]).toBe(formatPercent(expected));
        }
      }
    }
    const failed = docs.bias.verdicts.filter((v) => v.status === 'fail').length;
    expect(await dataValue(page, '[data-key="thresholds-failed"]')).toBe(failed);
    expect(await page.locator('tr[data-verdict="fail"]').count()).toBe(failed);
    // The hostile label is shown as its literal text, in the composition table and the disclosure.
    expect(await page.getByText(XSS.label, { exact: true }).count()).toBeGreaterThan(2);
    expect(await page.locator('img[onerror]').count()).toBe(0);
    // Accessibility basics: one h1, headed tables, every image with alt text.
    expect(await page.locator('h1').count()).toBe(1);
    expect(await page.locator('table:not(:has(th))').count()).toBe(0);
    expect(await page.locator('img:not([alt])').count()).toBe(0);
    expect(await page.locator('[role="img"][aria-label]').count()).toBe(12);
    await finish('bias', opened);
  });

  it('bias: one verdict sentence first, failed checks open, passed ones folded, charts at full width', async () => {
    const opened = await open('bias');
    const { page } = opened;
    // The sentence at the top carries the same verdict as results.json.
    const headline = page.locator('header .headline');
    expect(await headline.getAttribute('data-headline')).toBe(docs.bias.verdict.toUpperCase());
    expect(await headline.innerText()).toMatch(/^FAIL: Demographic parity ratio between gender=Female and gender=Male is 0\.620 \[0\.570, 0\.670\]/);
    const headlineBox = await headline.boundingBox();
    const verdictsBox = await page.locator('#verdicts').boundingBox();
    expect(headlineBox!.y).toBeLessThan(verdictsBox!.y);
    // Failed/inconclusive rows are visible without a click; every <details> starts folded.
    expect(await page.locator('tr[data-verdict="fail"]').first().isVisible()).toBe(true);
    expect(await page.locator('details[open]').count()).toBe(0);
    expect(await page.getByText('Spec as run (with defaults filled in)').isVisible()).toBe(true);
    expect(await page.locator('details pre').first().isVisible()).toBe(false);
    // Every chart spans at least 90% of the content width.
    const content = await page.locator('main').evaluate((main) => main.getBoundingClientRect().width);
    const widths = await page.locator('figure.chart svg').evaluateAll((svgs) => svgs.map((svg) => svg.getBoundingClientRect().width));
    expect(widths.length).toBeGreaterThan(0);
    for (const width of widths) expect(width).toBeGreaterThanOrEqual(0.9 * content);
    await opened.page.close();
  });

  it('screening: triage scores match, hostile file names stay text', async () => {
    const opened = await open('screen');
    const { page } = opened;
    const rows = page.locator('table.triage tbody tr');
    expect(await rows.count()).toBe(docs.screen.files.length);
    for (const [index, file] of docs.screen.files.entries()) {
      const row = rows.nth(index);
      expect(await row.getAttribute('data-file')).toBe(file.file);
      const score = await row.locator('td[data-metric="score"]').getAttribute('data-value');
      expect(score === null ? null : Number(score)).toBe(file.score);
    }
    expect(await page.getByText(XSS.file, { exact: true }).count()).toBeGreaterThan(0);
    expect(await dataValue(page, '[data-key="likely-synthetic"]')).toBe(docs.screen.summary.verdicts['likely-synthetic']);
    expect(await page.locator('.evidence img').count()).toBe(5);
    await finish('screen', opened);
  });

  it('screening evaluation: metric tables match results.json', async () => {
    const opened = await open('eval');
    const { page } = opened;
    const all = docs.eval.conditions[0].groups.find((g) => g.generator === 'all')!;
    expect(await dataValue(page, '[data-key="auc"]')).toBe(all.scorers.fused!.metrics.auc.value);
    for (const [scorer, metrics] of Object.entries(all.scorers)) {
      const cell = `table.eval-metrics tr[data-scorer="${scorer}"] td[data-metric="auc"]`;
      expect(await dataValue(page, cell)).toBe(metrics!.metrics.auc.value);
      expect((await page.locator(cell).innerText()).split('\n')[0]).toBe(formatDecimal(metrics!.metrics.auc.value));
    }
    for (const condition of docs.eval.conditions) {
      const cell = `table.eval-robustness tr[data-perturbation="${condition.perturbation}"] td[data-metric="eer"]`;
      expect(await dataValue(page, cell)).toBe(condition.groups[0].scorers.fused!.metrics.eer.value);
    }
    expect(await page.getByText(XSS.label, { exact: true }).count()).toBeGreaterThan(0);
    // ROC, PR, AUC per generator, AUC per perturbation.
    expect(await page.locator('figure.chart svg').count()).toBe(4);
    // Summary cards carry their intervals; curves have a legend naming each scorer and a zoomed panel.
    expect(await page.locator('[data-interval-of="auc"]').innerText()).toBe('[0.900, 0.960]');
    expect(await page.locator('figure.chart').first().getAttribute('class')).toBe('chart');
    const roc = page.locator('figure.chart').first();
    expect(await roc.locator('[aria-roledescription="legend"]').count()).toBeGreaterThan(0);
    expect(await roc.getByText(/^Zoom: 0–10%/).count()).toBe(1);
    expect(await page.locator('header .headline').innerText()).toMatch(/^MEASURED: the fused screen ranks a synthetic image above a real one with AUC 0\.930 \[0\.900, 0\.960\]/);
    await finish('eval', opened);
  });

  it('provenance: states match, hostile file name and claim generator stay text', async () => {
    const opened = await open('provenance');
    const { page } = opened;
    const rows = page.locator('table.files tbody tr');
    expect(await rows.count()).toBe(docs.provenance.files.length);
    for (const [index, file] of docs.provenance.files.entries()) {
      expect(await rows.nth(index).getAttribute('data-state')).toBe(file.state);
      expect(await rows.nth(index).getAttribute('data-file')).toBe(file.path);
    }
    expect(docs.provenance.files.map((f) => f.state)).toEqual(['Trusted', 'Invalid', 'NoManifest']);
    expect(await dataValue(page, '[data-key="invalid"]')).toBe(1);
    const generator = await page.locator('[data-field="claim-generator"]').first().innerText();
    expect(generator).toContain(XSS.generator);
    expect(await page.getByText(HOSTILE_NAME, { exact: false }).count()).toBeGreaterThan(0);
    expect(await page.getByText('AI-generated content declared.').count()).toBe(2);
    expect(await page.getByText('assertion.dataHash.mismatch').count()).toBeGreaterThan(0);
    // A Trusted badge always names the list the signer chains to, in the badge line and the signer line.
    const trustedRow = rows.nth(0);
    expect(await trustedRow.innerText()).toMatch(/Trusted by \S+/);
    expect(await trustedRow.innerText()).toMatch(/on trust list \S+/);
    expect(await page.locator('header .headline').getAttribute('data-headline')).toBe('INVALID');
    await finish('provenance', opened);
  });

  it('demo index: links to each report', async () => {
    const opened = await open('demo');
    const links = await opened.page.locator('.report-list h3 a').evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href')));
    expect(links).toEqual(['bias/report.html', 'provenance/report.html']);
    await finish('demo', opened);
  });
});

describe('PDF', () => {
  it('prints the bias report with every folded section unfolded, page numbers and the title in the footer', async () => {
    const pdf = await htmlToPdf(html.bias);
    const path = join(OUTPUT, 'report-bias.pdf');
    writeFileSync(path, pdf);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    // pdftotext / pdfinfo come from poppler-utils (tools/setup.sh installs it).
    const text = execFileSync('pdftotext', ['-layout', path, '-'], { encoding: 'utf8' });
    expect(text).toContain('Bias audit: occupation zero-shot audit');
    expect(text).toContain('Verdicts against thresholds');
    expect(text).toContain('Reproducibility');
    expect(text).toContain(XSS.label);
    const pages = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [path], { encoding: 'utf8' }))?.[1]);
    expect(pages).toBeGreaterThanOrEqual(4);
    expect(pages).toBeLessThanOrEqual(25);
    // "Spec as run" is folded in the HTML; its content (the spec document) is in the PDF.
    expect(html.bias).toMatch(/<details>\s*<summary>Spec as run/);
    const specKey = Object.keys(docs.bias.spec!.document)[0];
    expect(text).toContain(`"${specKey}"`);
    // Footer: the title and "page N of M" on every page.
    for (let page = 1; page <= pages; page++) {
      const pageText = execFileSync('pdftotext', ['-layout', '-f', String(page), '-l', String(page), path, '-'], { encoding: 'utf8' });
      expect(pageText).toContain(`page ${page} of ${pages}`);
      expect(pageText).toContain('Bias audit: occupation zero-shot audit');
      // ... and the sha256 of the results.json it was rendered from, so a printed page can be matched to its JSON.
      expect(pageText).toContain(`results sha256 ${createHash('sha256').update(resultsJson(docs.bias)).digest('hex')}`);
    }
  });
});
