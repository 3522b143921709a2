import { describe, expect, it } from 'vitest';
import { VigilInputError } from '../../src/core/errors.js';
import { loadModel } from '../../src/vision/index.js';
import { TINY } from './helpers.js';

describe('execution providers', () => {
  it('records the provider that ran; auto falls back to CPU where no GPU provider works', async () => {
    const model = await loadModel(TINY.clip, { device: 'auto', intraOpThreads: 1 });
    expect(['cuda', 'webgpu', 'cpu']).toContain(model.provider);
    await model.release();
  });

  // On a machine with the CUDA provider installed this loads; everywhere else it must say why.
  it('fails with the reason and a remedy when an explicitly requested provider is unavailable', async () => {
    const outcome = await loadModel(TINY.vit, { device: 'cuda' }).then(
      async (model) => {
        await model.release();
        return model.provider;
      },
      (error: unknown) => error,
    );
    if (outcome === 'cuda') return;
    expect(outcome).toBeInstanceOf(VigilInputError);
    const message = (outcome as Error).message;
    expect(message).toMatch(/^The cuda execution provider is unavailable for .*onnx\/model.onnx: cuda: /);
    expect(message).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
  });
});
