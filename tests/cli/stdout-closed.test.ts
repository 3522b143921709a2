import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('vigil writing to a closed pipe', () => {
  it('exits quietly when the reader stops early (vigil ... --csv | head -1)', () => {
    const run = spawnSync(
      'bash',
      [
        '-o',
        'pipefail',
        '-c',
        `"${process.execPath}" --import tsx src/cli/main.ts screen fixtures/screen/heldout --signals spectral --csv | head -1`,
      ],
      { encoding: 'utf8' },
    );
    expect(run.stdout).toMatch(/^rank,file,/);
    expect(run.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(run.status).toBe(0);
  });
});
