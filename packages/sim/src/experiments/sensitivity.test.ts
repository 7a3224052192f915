import { describe, expect, it } from 'vitest';
import { SENSITIVITY_SETTINGS, sensitivityScenario } from './sensitivity.js';

/** The four world parameters the sensitivity experiment varies, as a scenario carries them. */
function knobs(s: ReturnType<typeof sensitivityScenario>): Record<string, unknown> {
  const w = s.workload as { origins?: { exponent?: number }; requests?: readonly { service: string; process?: { kind: string; factor?: number } }[] };
  const bursts = (w.requests ?? []).filter((r) => r.process?.kind === 'bursts').map((r) => r.process!.factor);
  return { metroMs: s.network?.metroMs ?? 'default', interference: s.interference ?? 'default', zipf: w.origins?.exponent, bursts: [...new Set(bursts)] };
}

describe('sensitivity settings', () => {
  it('change one world parameter each from the defaults, and nothing else', () => {
    const defaults = knobs(sensitivityScenario(SENSITIVITY_SETTINGS[0]!, 1, 20_000));
    expect(defaults).toEqual({ metroMs: 'default', interference: 'default', zipf: 0.9, bursts: [4] });
    for (const s of SENSITIVITY_SETTINGS.slice(1)) {
      const k = knobs(sensitivityScenario(s, 1, 20_000));
      const changed = Object.keys(k).filter((key) => JSON.stringify(k[key]) !== JSON.stringify(defaults[key]));
      expect([s.value, changed.length]).toEqual([s.value, 1]);
    }
    const uniform = SENSITIVITY_SETTINGS.find((s) => s.zipfExponent === 0)!;
    expect(knobs(sensitivityScenario(uniform, 1, 20_000)).zipf).toBe(0);
    const flat = SENSITIVITY_SETTINGS.find((s) => s.burstFactor === 1)!;
    expect(knobs(sensitivityScenario(flat, 1, 20_000)).bursts).toEqual([1]);
  });

  it('keeps the seed it is given, so each seed is another draw of the same world', () => {
    expect(sensitivityScenario(SENSITIVITY_SETTINGS[0]!, 4, 20_000).seed).toBe(4);
  });
});
