import Handlebars from 'handlebars';
import { describe, expect, it } from 'vitest';
import { formatDecimal, formatInterval, formatNumber, formatPercent, formatPValue, registerHelpers, verdictInfo } from '../../src/report/helpers.js';

function render(template: string, data: object = {}): string {
  const hb = Handlebars.create();
  registerHelpers(hb);
  return hb.compile(template)(data);
}

describe('formatters', () => {
  it('formats numbers, percentages, intervals and p-values', () => {
    expect(formatNumber(1234)).toBe('1,234');
    expect(formatNumber(12)).toBe('12');
    expect(formatNumber(0.12345)).toBe('0.123');
    expect(formatNumber(Number.NaN)).toBe('—');
    expect(formatDecimal(1)).toBe('1.000');
    expect(formatPercent(0.125)).toBe('12.5%');
    expect(formatInterval(0.1, 0.25, true)).toBe('[10.0%, 25.0%]');
    expect(formatInterval(0.1, 1)).toBe('[0.100, 1.000]');
    expect(formatInterval(null, 0.2)).toBe('—');
    expect(formatPValue(0.0004)).toBe('< 0.001');
    expect(formatPValue(0.0123)).toBe('0.012');
  });

  it('gives every verdict a symbol and words, not only a colour', () => {
    for (const verdict of ['pass', 'fail', 'warn', 'likely-synthetic', 'uncertain', 'no-evidence', 'Trusted', 'Valid', 'Invalid', 'NoManifest']) {
      const info = verdictInfo(verdict);
      expect(info.text.length).toBeGreaterThan(2);
      expect(info.symbol.length).toBeGreaterThan(0);
    }
    expect(verdictInfo('fail').tone).toBe('bad');
    expect(verdictInfo('no-evidence').text).not.toMatch(/authentic/i);
  });
});

describe('helpers', () => {
  it('renders a badge with escaped text, symbol and tone class', () => {
    const html = render('{{badge v}}', { v: 'fail' });
    expect(html).toBe('<span class="badge badge-bad"><span aria-hidden="true">✗</span> Fail</span>');
    // An unknown verdict from a hand-edited file is shown as escaped text.
    expect(render('{{badge v}}', { v: '<b>x</b>' })).toContain('&lt;b&gt;x&lt;/b&gt;');
  });

  it('formats intervals from arrays, objects and two numbers', () => {
    expect(render('{{ci c}}', { c: [0.1, 0.2] })).toBe('[0.100, 0.200]');
    expect(render('{{ci c percent=true}}', { c: { low: 0.1, high: 0.2 } })).toBe('[10.0%, 20.0%]');
    expect(render('{{ci a b digits=1}}', { a: 1, b: 2 })).toBe('[1.0, 2.0]');
  });

  it('keeps Markdown table cells in their cell', () => {
    // Markdown, not HTML: only `<` is escaped (no tag can start), `>=` stays readable.
    expect(render('{{cell v}}', { v: 'a|b\nc<d> >= 0.8\r\ne' })).toBe('a&#124;b c&lt;d> >= 0.8 e');
  });
});
