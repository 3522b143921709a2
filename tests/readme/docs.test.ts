/** docs/*.md as a tested contract: the guides' runnable blocks, run as written (see runner.ts and blocks.ts). */
import { describeRunnable } from './runner.js';

describeRunnable((document) => document !== 'README.md');
