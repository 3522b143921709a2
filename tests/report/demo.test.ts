/**
 * `vigil demo` end to end on the bundled fixtures: three audits, their reports and the index, with
 * the numbers of each report taken from its own results.json.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BiasResult } from '../../src/bias/result.js';
import type { ProvenanceResults } from '../../src/provenance/result.js';
import { runDemo } from '../../src/cli/demo.js';
import type { ScreenEvalResults } from '../../src/screen/result.js';

describe('vigil demo', () => {
  it('writes the three reports and an index linking them', { timeout: 600_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'vigil-demo-'));
    const index = await runDemo(out, { quiet: true });

    expect(index.schema).toBe('vigil/demo');
    expect(index.reports.map((r) => r.schema)).toEqual(['vigil/bias', 'vigil/screen-eval', 'vigil/provenance']);
    // Each entry carries its report's one-sentence verdict; the bias one is the audit's own verdict.
    const labels: Record<BiasResult['verdict'], string> = { pass: 'PASS', fail: 'FAIL', inconclusive: 'CANNOT TELL', not_judged: 'NOT JUDGED' };
    expect(index.reports[0].headline.label).toBe(labels[(JSON.parse(readFileSync(join(out, 'bias', 'results.json'), 'utf8')) as BiasResult).verdict]);

    const indexHtml = readFileSync(join(out, 'index.html'), 'utf8');
    for (const entry of index.reports) {
      expect(existsSync(join(out, entry.report))).toBe(true);
      expect(existsSync(join(out, entry.results))).toBe(true);
      expect(indexHtml).toContain(`href="${entry.report}"`);
    }

    const bias = JSON.parse(readFileSync(join(out, 'bias', 'results.json'), 'utf8')) as BiasResult;
    expect(bias.model?.kind).toBe('vit');
    expect(bias.spec?.path).toMatch(/audits[\\/]classification\.yaml$/);
    expect(bias.verdicts.length).toBeGreaterThanOrEqual(3);
    expect(existsSync(join(out, 'bias', 'observations.csv'))).toBe(true);
    const biasHtml = readFileSync(join(out, 'bias', 'report.html'), 'utf8');
    expect(biasHtml).toContain(`data-value="${bias.probe_set!.n_rows}"`);

    const screen = JSON.parse(readFileSync(join(out, 'screen-eval', 'results.json'), 'utf8')) as ScreenEvalResults;
    expect(screen.conditions.length).toBe(7); // original + 6 perturbations
    const auc = screen.conditions[0].groups.find((g) => g.generator === 'all')!.scorers.fused!.metrics.auc.value;
    expect(readFileSync(join(out, 'screen-eval', 'report.html'), 'utf8')).toContain(`<dd data-key="auc" data-value="${auc}">`);
    // The curves the report draws are in the results (the report layer computes none).
    expect(screen.conditions[0].groups.find((g) => g.generator === 'all')!.scorers.fused!.curves!.roc.length).toBeGreaterThan(2);

    const provenance = JSON.parse(readFileSync(join(out, 'provenance', 'results.json'), 'utf8')) as ProvenanceResults;
    expect(provenance.files.map((f) => f.state)).toEqual(['Trusted', 'Invalid', 'NoManifest']);
    expect(provenance.files[0].activeManifest?.aiGenerated).toBe(true);
    expect(readFileSync(join(out, 'provenance', 'report.html'), 'utf8')).toContain('AI-generated content declared.');
  });
});
