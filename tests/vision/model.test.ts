import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VigilInputError } from '../../src/core/errors.js';
import { sha256File } from '../../src/core/files.js';
import sharp from 'sharp';
import { describeModel, embedImages, embedTexts, loadModel } from '../../src/vision/index.js';
import { collect, TINY, tempDir } from './helpers.js';

const scratch = tempDir('models');
afterAll(() => scratch.remove());

let copies = 0;
/** A copy of a tiny model folder to break. */
function copyOf(kind: keyof typeof TINY): string {
  const dir = join(scratch.path, `${kind}-${copies++}`);
  cpSync(TINY[kind], dir, { recursive: true });
  return dir;
}

/** Renames a graph input/output in place (same length keeps the protobuf valid). */
function renameInGraph(file: string, from: string, to: string): void {
  if (from.length !== to.length) throw new Error('same length only');
  const bytes = readFileSync(file);
  writeFileSync(file, Buffer.from(bytes.toString('latin1').replaceAll(from, to), 'latin1'));
}

async function loadError(dir: string): Promise<string> {
  const error = await loadModel(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VigilInputError);
  return (error as Error).message;
}

describe('loadModel', () => {
  it('detects each kind and describes it with file hashes, graphs and preprocessing', async () => {
    const vit = await loadModel(TINY.vit);
    const clip = await loadModel(TINY.clip);
    const mae = await loadModel(TINY.mae);
    try {
      expect([vit.kind, clip.kind, mae.kind]).toEqual(['vit', 'clip', 'mae']);
      const info = describeModel(vit);
      expect(info.labels).toEqual(['red', 'green', 'blue']);
      expect(info.provider).toBe('cpu');
      const onnx = info.files.find((f) => f.path === 'onnx/model.onnx')!;
      expect(onnx.sha256).toBe(await sha256File(join(TINY.vit, 'onnx/model.onnx')));
      expect(info.graphs[0].inputs[0]).toEqual({ name: 'pixel_values', type: 'float32', shape: ['batch_size', 3, 32, 32] });
      expect(info.preprocessing.inputSize).toEqual({ height: 32, width: 32 });

      expect(clip.kind === 'clip' && clip.logitScale).toBeCloseTo(Math.exp(2.6592), 6);
      expect(clip.kind === 'clip' && clip.embeddingSize).toBe(6);
      expect(describeModel(clip).files.map((f) => f.path).sort()).toEqual([
        'config.json',
        'onnx/text_model.onnx',
        'onnx/vision_model.onnx',
        'preprocessor_config.json',
        'tokenizer.json',
      ]);
      expect(mae.kind === 'mae' && [mae.numPatches, mae.patchSize, mae.maskRatio, mae.normPixLoss]).toEqual([16, 8, 0.75, true]);
      // Different models, different hashes; the hash covers every file the model uses.
      expect(new Set([vit.sha256, clip.sha256, mae.sha256]).size).toBe(3);
    } finally {
      await Promise.all([vit.release(), clip.release(), mae.release()]);
    }
  });

  it('changes the model hash when any of its files changes', async () => {
    const dir = copyOf('vit');
    const before = await loadModel(dir);
    const config = JSON.parse(readFileSync(join(dir, 'preprocessor_config.json'), 'utf8'));
    writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({ ...config, image_mean: [0.4, 0.4, 0.4] }));
    const after = await loadModel(dir);
    expect(after.sha256).not.toBe(before.sha256);
    expect(after.preprocessingKey).not.toBe(before.preprocessingKey);
    await Promise.all([before.release(), after.release()]);
  });

  it('loads an image tower alone (vision_model.onnx without text tower and tokenizer) for embeddings only', async () => {
    const dir = copyOf('clip');
    rmSync(join(dir, 'onnx/text_model.onnx'));
    rmSync(join(dir, 'tokenizer.json'));
    const model = await loadModel(dir);
    if (model.kind !== 'clip') throw new Error('expected clip');
    expect(model.textSession).toBeNull();
    expect(describeModel(model).files.map((f) => f.path).sort()).toEqual(['config.json', 'onnx/vision_model.onnx', 'preprocessor_config.json']);
    const [obs] = await collect(embedImages(model, [{ name: 'x.png', bytes: await sharp({ create: { width: 32, height: 32, channels: 3, background: '#fff' } }).png().toBuffer() }], { cacheDir: false }));
    expect(obs.error).toBeUndefined();
    await expect(embedTexts(model, ['red'])).rejects.toThrow(`Model folder ${dir} has only an image tower: text needs onnx/text_model.onnx and tokenizer.json`);
    await model.release();
  });

  it('rejects a missing folder', async () => {
    expect(await loadError(join(scratch.path, 'nope'))).toMatch(/Model folder .*nope does not exist/);
  });

  it('names the folder and the missing file', async () => {
    const vit = copyOf('vit');
    rmSync(join(vit, 'onnx/model.onnx'));
    expect(await loadError(vit)).toMatch(new RegExp(`Model folder ${vit}: missing onnx/model.onnx`));

    const clip = copyOf('clip');
    rmSync(join(clip, 'onnx/text_model.onnx'));
    expect(await loadError(clip)).toMatch(/missing onnx\/text_model.onnx \(a CLIP export needs both/);

    const noTokenizer = copyOf('clip');
    rmSync(join(noTokenizer, 'tokenizer.json'));
    expect(await loadError(noTokenizer)).toMatch(/missing tokenizer.json \(CLIP needs its tokenizer\)/);

    const noPre = copyOf('mae');
    rmSync(join(noPre, 'preprocessor_config.json'));
    expect(await loadError(noPre)).toMatch(/missing preprocessor_config.json/);
  });

  it('reports invalid JSON and an unloadable ONNX file by name', async () => {
    const dir = copyOf('vit');
    writeFileSync(join(dir, 'config.json'), '{ not json');
    expect(await loadError(dir)).toMatch(/config.json is not valid JSON/);

    const corrupt = copyOf('vit');
    writeFileSync(join(corrupt, 'onnx/model.onnx'), 'garbage');
    expect(await loadError(corrupt)).toMatch(/onnx\/model.onnx: not a loadable ONNX model/);
  });

  it('rejects wrong input and output names, naming what the graph has', async () => {
    const dir = copyOf('vit');
    renameInGraph(join(dir, 'onnx/model.onnx'), 'pixel_values', 'images_input');
    expect(await loadError(dir)).toBe(
      `Model folder ${dir}: expected onnx/model.onnx to have an input named "pixel_values" but its inputs are "images_input"`,
    );
    const mae = copyOf('mae');
    renameInGraph(join(mae, 'onnx/model.onnx'), 'noise', 'nois3');
    expect(await loadError(mae)).toMatch(/expected onnx\/model.onnx to have an input named "noise"/);
    const clip = copyOf('clip');
    renameInGraph(join(clip, 'onnx/vision_model.onnx'), 'image_embeds', 'image_embedz');
    expect(await loadError(clip)).toMatch(/expected onnx\/vision_model.onnx to have an output named "image_embeds"/);
  });

  it('rejects an input size that does not match preprocessor_config.json', async () => {
    const dir = copyOf('vit');
    const file = join(dir, 'preprocessor_config.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), size: { height: 48, width: 48 } }));
    expect(await loadError(dir)).toMatch(
      /expected onnx\/model.onnx to have "pixel_values" dimension 2 to be 48 pixels high .* but it is 32/,
    );
  });

  it('rejects an id2label whose size differs from the logits width', async () => {
    const dir = copyOf('vit');
    const file = join(dir, 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...config, id2label: { 0: 'a', 1: 'b', 2: 'c', 3: 'd' } }));
    expect(await loadError(dir)).toBe(
      `Model folder ${dir}: onnx/model.onnx output "logits" has 3 classes but config.json id2label has 4 labels`,
    );
    writeFileSync(file, JSON.stringify({ ...config, id2label: { 0: 'a', 5: 'b', 2: 'c' } }));
    expect(await loadError(dir)).toMatch(/config.json: expected id2label keys 0..2 with string labels but found "5"/);
  });

  it('rejects an MAE patch size that does not match the graph', async () => {
    const dir = copyOf('mae');
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), patch_size: 4 }));
    expect(await loadError(dir)).toMatch(/"noise" dimension 1 to be 64 patches but it is 16/);
  });

  it('answers bad arguments sharp-style', async () => {
    await expect(loadModel(TINY.vit, { device: 'tpu' as never })).rejects.toThrow('Expected one of cpu, cuda, webgpu, auto for device but received "tpu"');
    await expect(loadModel(TINY.vit, { intraOpThreads: 0 })).rejects.toThrow('Expected a positive integer for intraOpThreads but received 0');
    await expect(loadModel(TINY.vit, { pixelLimit: -1 })).rejects.toThrow('Expected a positive integer for pixelLimit but received -1');
  });
});
