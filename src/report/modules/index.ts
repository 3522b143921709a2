import { biasModule } from './bias.js';
import { classifyModule } from './classify.js';
import { demoModule } from './demo.js';
import type { ReportModule } from './module.js';
import { provenanceModule } from './provenance.js';
import { screenEvalModule } from './screen-eval.js';
import { screenModule } from './screen.js';

/** Every results schema the report layer renders, by schema name. */
export const REPORT_MODULES: Record<string, ReportModule<never>> = Object.fromEntries(
  [biasModule, screenModule, screenEvalModule, provenanceModule, classifyModule, demoModule].map((module) => [module.schema, module as ReportModule<never>]),
);
