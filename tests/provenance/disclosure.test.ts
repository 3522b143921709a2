import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discloseAi } from '../../src/provenance/disclosure.js';
import { verifyBytes } from '../../src/provenance/verify.js';
import { devCredentials, IPTC, signedJpeg, syntheticImage, tempDir, type DevCredentials } from './helpers.js';

/**
 * AI disclosure across the manifest chain, on manifests built through c2pa-rs's builder the way
 * real generators write them: the declaration only in a parent ingredient (ChatGPT over DALL-E),
 * only in a description (Bing Image Creator), only in a vendor assertion (Adobe), or nowhere.
 */

const agent = (name: string): { name: string; version: string } => ({ name, version: '1.0' });

describe('AI disclosure across the manifest chain', () => {
  let workspace: { dir: string; cleanup: () => Promise<void> };
  let dev: DevCredentials;
  const jpeg = (seed: number): Promise<Buffer> => syntheticImage(seed, 'jpeg', 96, 72);

  const sign = (seed: number, definition: Record<string, unknown>, parent?: Uint8Array): Promise<Uint8Array> => signedJpeg(dev.signer, seed, definition, parent);

  const opened = (extra: Record<string, unknown>[] = [], softwareAgent = agent('ChatGPT')): Record<string, unknown> => ({
    assertions: [{ label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.opened', softwareAgent, parameters: { ingredientIds: ['parent'] } }, ...extra] } }],
  });

  beforeAll(async () => {
    workspace = await tempDir();
    dev = await devCredentials(workspace.dir);
  });
  afterAll(() => workspace.cleanup());

  it('declared: created with trainedAlgorithmicMedia in the active manifest, with the evidence path', async () => {
    const bytes = await sign(1, { title: 'generated.jpg', assertions: [{ label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.created', digitalSourceType: IPTC('trainedAlgorithmicMedia'), softwareAgent: agent('DALL·E') }] } }] });
    const result = await verifyBytes(bytes, 'generated.jpg');
    expect(result.state).toBe('Valid');
    expect(result.disclosure?.level).toBe('declared');
    const [first] = result.disclosure!.evidence;
    expect(first.path).toEqual([result.activeManifest!.label, 'c2pa.actions.v2', 'actions[0].digitalSourceType']);
    expect(first.value).toBe(IPTC('trainedAlgorithmicMedia'));
    expect(first.via).toEqual([]);
    // The software name "DALL·E" is recorded too, as a weak cue below the declaration.
    expect(result.disclosure!.evidence.some((entry) => entry.level === 'weakCue' && entry.value.startsWith('DALL'))).toBe(true);
  });

  it('editedWithAi: a composite-with-AI edit of a camera photo', async () => {
    const camera = await sign(2, { title: 'camera.jpg', assertions: [{ label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.created', digitalSourceType: IPTC('digitalCapture') }] } }] });
    expect((await verifyBytes(camera, 'camera.jpg')).disclosure?.level).toBe('none');
    const edited = await sign(3, opened([{ action: 'c2pa.edited', digitalSourceType: IPTC('compositeWithTrainedAlgorithmicMedia'), parameters: { description: 'Generative fill' } }], agent('Photoshop')), camera);
    const result = await verifyBytes(edited, 'edited.jpg');
    expect(result.disclosure?.level).toBe('editedWithAi');
    expect(result.disclosure?.evidence[0].path.at(-1)).toBe('actions[1].digitalSourceType');
  });

  it('containsAiIngredient: AI declared only in a parent two levels down (ChatGPT over DALL-E), naming the ingredients', async () => {
    const dalle = await sign(4, { title: 'dalle.png', assertions: [{ label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.created', digitalSourceType: IPTC('trainedAlgorithmicMedia') }] } }] });
    const converted = await sign(5, opened([{ action: 'c2pa.converted' }]), dalle);
    const shared = await sign(6, opened([{ action: 'c2pa.resized' }], agent('Share sheet')), converted);
    const result = await verifyBytes(shared, 'shared.jpg');
    expect(result.state).toBe('Valid');
    // The active manifest declares nothing; the old reader (active c2pa.created only) called this not AI.
    expect(result.activeManifest?.aiGenerated).toBe(false);
    expect(result.disclosure?.level).toBe('containsAiIngredient');
    const evidence = result.disclosure!.evidence.find((entry) => entry.level === 'containsAiIngredient')!;
    expect(evidence.via).toEqual(['parent-6.jpg', 'parent-5.jpg']);
    expect(evidence.value).toBe(IPTC('trainedAlgorithmicMedia'));
  });

  it('vendorAssertion: an Adobe generative-AI assertion with no IPTC source type', async () => {
    const plain = await jpeg(7);
    const bytes = await sign(8, {
      title: 'firefly.jpg',
      assertions: [
        { label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.opened', parameters: { ingredientIds: ['parent'] } }, { action: 'c2pa.edited' }] } },
        { label: 'com.adobe.generative-ai', data: { description: 'Gemini', version: '2.5' } },
      ],
    }, plain);
    const result = await verifyBytes(bytes, 'firefly.jpg');
    expect(result.disclosure?.level).toBe('vendorAssertion');
    expect(result.disclosure?.evidence[0]).toMatchObject({ path: [result.activeManifest!.label, 'com.adobe.generative-ai'], value: 'Gemini 2.5' });
  });

  it('weakCue: AI only in a free-text description (Bing Image Creator) is shown as a hint, never as a declaration', async () => {
    const plain = await jpeg(9);
    const bytes = await sign(10, opened([{ action: 'c2pa.edited', parameters: { description: 'AI Generated Image' } }], agent('Bing Image Creator')), plain);
    const result = await verifyBytes(bytes, 'bing.jpg');
    expect(result.disclosure?.level).toBe('weakCue');
    expect(result.disclosure?.summary).toMatch(/a hint, not a declaration/);
    expect(result.disclosure?.evidence.map((entry) => entry.value)).toContain('AI Generated Image');
  });

  it('does not read AI into ordinary words and reports none for files without a manifest', async () => {
    const plain = await jpeg(11);
    const bytes = await sign(12, opened([{ action: 'c2pa.edited', parameters: { description: 'Said the maid: retouched the chair' } }], agent('Darkroom')), plain);
    expect((await verifyBytes(bytes, 'plain.jpg')).disclosure?.level).toBe('none');
    expect((await verifyBytes(plain, 'no-manifest.jpg')).disclosure?.level).toBe('none');
    expect(discloseAi({ manifests: {} })).toMatchObject({ level: 'none', evidence: [] });
  });
});
