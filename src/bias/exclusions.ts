/**
 * Nothing is dropped silently: every group under min_group_size, every rate undefined for a group
 * (0/0), every input row dropped and every image the model could not process becomes an
 * exclusion with its reason, listed in results.json, the console summary and the report.
 */
import type { ProbeSet } from '../probes/index.js';
import type { AuditResult, BiasResult, Exclusion } from './result.js';

const RATE_REASONS: Record<string, string> = {
  tpr: 'no ground-truth positives, so its TPR is undefined (0/0) and it is left out of TPR and equalized-odds disparities',
  fpr: 'no ground-truth negatives, so its FPR is undefined (0/0) and it is left out of FPR and equalized-odds disparities',
  tpr_by_label: 'no ground truth of this label, so its one-vs-rest TPR is undefined and left out of that label\'s disparities',
  fpr_by_label: 'only ground truth of this label, so its one-vs-rest FPR is undefined and left out of that label\'s disparities',
};

/** Problem rows summarised by column and message (the full list stays in `predictions.problems`). */
function rowExclusions(audit: string, problems: readonly { line: number | null; column: string | null; message: string }[]): Exclusion[] {
  const byReason = new Map<string, number[]>();
  for (const p of problems) {
    const key = `${p.column === null ? '' : `column "${p.column}": `}${p.message}`;
    const lines = byReason.get(key) ?? [];
    if (p.line !== null) lines.push(p.line);
    byReason.set(key, lines);
  }
  return [...byReason].map(([reason, lines]) => ({
    audit,
    what: 'rows' as const,
    count: Math.max(lines.length, 1),
    reason: `${reason}${lines.length > 0 ? ` (line${lines.length > 1 ? 's' : ''} ${lines.slice(0, 5).join(', ')}${lines.length > 5 ? ', ...' : ''})` : ''}`,
  }));
}

/** Every group, rate, row and image left out of the metrics, with its reason. */
export function collectExclusions(audits: readonly AuditResult[], source: BiasResult['predictions'], probe: ProbeSet | null): Exclusion[] {
  const out: Exclusion[] = [];
  if (probe && probe.problems.length > 0) out.push(...rowExclusions('probe_set', probe.problems));
  if (source && source.problems.length > 0) out.push(...rowExclusions(audits.find((a) => a.inference === null)?.id ?? 'predictions', source.problems));
  for (const audit of audits) {
    if (audit.failures.length > 0) {
      out.push({ audit: audit.id, what: 'images', count: audit.failures.length, reason: `the model could not process them (first: ${audit.failures[0].file}: ${audit.failures[0].error})` });
    }
    for (const f of audit.features) {
      for (const g of f.groups.filter((x) => x.insufficient_data)) {
        out.push({ audit: audit.id, what: 'group', attribute: f.attribute, group: g.name, count: g.count, reason: `fewer than min_group_size observations; reported, but left out of disparities, and checks that cannot cover it are inconclusive` });
      }
      for (const group of f.eligible_groups) {
        const metrics = f.by_group[group] as unknown as Record<string, unknown>;
        for (const [metric, reason] of Object.entries(RATE_REASONS)) {
          const value = metrics[metric];
          if (value === undefined) continue;
          if (metric.endsWith('_by_label')) {
            for (const [label, v] of Object.entries(value as Record<string, { value: number | null }>)) {
              if (v.value === null) out.push({ audit: audit.id, what: 'rate', attribute: f.attribute, group, metric: `${metric}[${label}]`, count: f.by_group[group].count, reason });
            }
          } else if ((value as { value: number | null }).value === null) {
            out.push({ audit: audit.id, what: 'rate', attribute: f.attribute, group, metric, count: f.by_group[group].count, reason });
          }
        }
      }
    }
  }
  return out;
}

/** One line per exclusion, for the console summary and the report's limitations. */
export function describeExclusion(e: Exclusion): string {
  const where = e.attribute === undefined ? '' : ` ${e.attribute}${e.group === undefined ? '' : `=${e.group}`}`;
  const what = e.what === 'rate' ? ` ${e.metric}` : '';
  const count = e.what === 'rows' ? `${e.count} row(s)` : e.what === 'images' ? `${e.count} image(s)` : `n = ${e.count}`;
  return `${e.audit}: excluded ${e.what}${where}${what} (${count}): ${e.reason}`;
}
