/** README.md as a tested contract: its runnable blocks, run as written (see runner.ts and blocks.ts). */
import { describeRunnable, describeStaticChecks } from './runner.js';

describeStaticChecks();
describeRunnable((document) => document === 'README.md');
