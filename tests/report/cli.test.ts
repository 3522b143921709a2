/** The report commands as a user runs them: output, files and exit codes. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findChromium } from '../../src/report/browser.js';
import { biasDocument, screenEvalDocument } from './documents.js';

function vigil(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('finding Chromium', () => {
  it('says how to get one when none is installed', () => {
    expect(() => findChromium({}, ['/nonexistent/chromium'])).toThrow(
      'PDF output needs Chromium and none was found (looked for /nonexistent/chromium). Install it (Debian/Ubuntu: apt-get install chromium) or set VIGIL_CHROMIUM to its executable.',
    );
    expect(findChromium({ VIGIL_CHROMIUM: process.execPath }, [])).toBe(process.execPath);
  });
});

describe('vigil report, model-card', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-report-cli-'));
  const biasPath = join(dir, 'results.json');
  writeFileSync(biasPath, JSON.stringify(biasDocument()));
  const evalDir = mkdtempSync(join(tmpdir(), 'vigil-report-cli-eval-'));
  writeFileSync(join(evalDir, 'results.json'), JSON.stringify(screenEvalDocument()));

  it('writes report.html next to results.json and Markdown to stdout', async () => {
    const html = await vigil(['report', biasPath]);
    expect(html.code).toBe(0);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<h1>Bias audit: occupation zero-shot audit</h1>');
    const md = await vigil(['report', biasPath, '--format', 'md', '--out', '-']);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/^# Bias audit: occupation zero-shot audit\n/);
    // Re-rendered from a file written by someone else (compact JSON): the digest is of its bytes as read.
    const digest = createHash('sha256').update(readFileSync(biasPath)).digest('hex');
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain(`data-results-sha256="${digest}"`);
    expect(md.stdout).toContain(`results.json sha256 \`${digest}\``);
  });

  it('writes the model card', async () => {
    const out = join(dir, 'card.md');
    const card = await vigil(['model-card', biasPath, '--model-name', 'org/model', '--out', out]);
    expect(card.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('  - name: org/model\n');
  });

  it('exits 2 with a message naming the problem', async () => {
    const format = await vigil(['report', biasPath, '--format', 'docx']);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('Expected one of html, pdf, md for --format but received "docx"');
    const extension = await vigil(['report', biasPath, '--format', 'pdf', '--out', join(dir, 'x.html')]);
    expect(extension.code).toBe(2);
    expect(extension.stderr).toContain('Expected a .pdf file name (to match --format pdf) for --out');
    const kind = await vigil(['model-card', join(evalDir, 'results.json')]);
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain('received schema "vigil/screen-eval"');
    const missing = await vigil(['report', join(dir, 'missing.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Cannot read the results file');
    const noBrowser = await vigil(['report', biasPath, '--format', 'pdf'], { VIGIL_CHROMIUM: join(dir, 'no-such-chromium') });
    expect(noBrowser.code).toBe(2);
    expect(noBrowser.stderr).toContain('VIGIL_CHROMIUM names');
    expect(existsSync(join(dir, 'report.pdf'))).toBe(false);
  });
});
