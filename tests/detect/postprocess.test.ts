import { describe, expect, it } from 'vitest';
import { postProcessDetection, postProcessSegmentation } from '../../src/detect/infer.js';
import { denseKindOf } from '../../src/detect/model.js';

describe("transformers' post_process_object_detection", () => {
  it('softmax over classes + no-object, best real class, score > threshold, cx/cy/w/h scaled to the original size', () => {
    // 2 queries, classes [cat, dog] + no-object
    const logits = Float32Array.from([2, 0, 0, /* q1 */ 0, 0, 3]);
    const boxes = Float32Array.from([0.5, 0.5, 0.2, 0.4, /* q1 */ 0.1, 0.1, 0.1, 0.1]);
    const out = postProcessDetection(logits, boxes, ['cat', 'dog'], { height: 100, width: 200 }, 0.5);
    expect(out).toHaveLength(1); // the second query is mostly no-object
    const p = Math.exp(2) / (Math.exp(2) + 2);
    expect(out[0].label).toBe('cat');
    expect(out[0].label_id).toBe(0);
    expect(out[0].score).toBeCloseTo(p, 6);
    expect(out[0].box.xmin).toBeCloseTo((0.5 - 0.1) * 200, 4);
    expect(out[0].box.ymin).toBeCloseTo((0.5 - 0.2) * 100, 4);
    expect(out[0].box.xmax).toBeCloseTo((0.5 + 0.1) * 200, 4);
    expect(out[0].box.ymax).toBeCloseTo((0.5 + 0.2) * 100, 4);
    // the no-object class never wins a label, and the threshold is strict
    expect(postProcessDetection(logits, boxes, ['cat', 'dog'], { height: 100, width: 200 }, p)).toHaveLength(0);
    const all = postProcessDetection(logits, boxes, ['cat', 'dog'], { height: 100, width: 200 }, 0);
    expect(all.map((o) => o.label)).toEqual(['cat', 'cat']);
  });
});

describe("transformers' post_process_semantic_segmentation", () => {
  it('upsamples bilinearly with align_corners = false, then takes the arg-max', () => {
    // 2 classes on a 1×2 logit map: class 1 rises from left to right.
    const logits = Float32Array.from([1, 1, /* class 1 */ 0, 2]);
    const labels = postProcessSegmentation(logits, 2, 1, 2, 1, 8);
    // source x = (x + 0.5) * 2/8 - 0.5, clamped at 0: class-1 logit 2*λ vs 1: class 1 where λ > 0.5
    const expected = Array.from({ length: 8 }, (_, x) => {
      const src = Math.max(0, (x + 0.5) * 0.25 - 0.5);
      const lambda = Math.min(src, 1);
      return 2 * lambda > 1 ? 1 : 0;
    });
    expect(Array.from(labels)).toEqual(expected);
    expect(expected).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
  });

  it('identity at the same size', () => {
    const logits = Float32Array.from([0, 5, 5, 0, /* class 1 */ 5, 0, 0, 5]);
    expect(Array.from(postProcessSegmentation(logits, 2, 2, 2, 2, 2))).toEqual([1, 0, 0, 1]);
  });
});

describe('model kinds from config.json', () => {
  it('recognises detectors and semantic segmenters by architecture or model_type', () => {
    expect(denseKindOf({ architectures: ['DetrForObjectDetection'] })).toBe('detection');
    expect(denseKindOf({ architectures: ['YolosForObjectDetection'] })).toBe('detection');
    expect(denseKindOf({ architectures: ['SegformerForSemanticSegmentation'] })).toBe('segmentation');
    expect(denseKindOf({ model_type: 'dpt' })).toBe('segmentation');
    expect(denseKindOf({ architectures: ['ViTForImageClassification'], model_type: 'vit' })).toBeNull();
  });
});
