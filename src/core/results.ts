import { VIGIL_VERSION } from './version.js';

/**
 * Every results.json vigil writes starts with this envelope. `schema` names the document kind and
 * `schemaVersion` changes only when a field changes meaning or disappears (additions keep it).
 * Reports render from these documents alone.
 */
export type ResultKind = 'bias' | 'screen' | 'screen-eval' | 'provenance' | 'classify' | 'compare' | 'demo';

export interface ResultEnvelope {
  schema: `vigil/${ResultKind}`;
  schemaVersion: 1;
  tool: { name: 'vigil'; version: string; node: string };
  createdAt: string;
}

export function resultEnvelope(kind: ResultKind, now: Date = new Date()): ResultEnvelope {
  return {
    schema: `vigil/${kind}`,
    schemaVersion: 1,
    tool: { name: 'vigil', version: VIGIL_VERSION, node: process.version },
    createdAt: now.toISOString(),
  };
}

/**
 * The bytes of a results.json as vigil writes it (two-space JSON and a final newline). Every writer
 * of results.json and the report's "results sha256" use this one serialization, so the digest a
 * report shows equals `sha256sum results.json` and what `vigil results sign` prints.
 */
export function resultsJson(results: object): string {
  return `${JSON.stringify(results, null, 2)}\n`;
}
