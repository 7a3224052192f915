import { describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { parseDemoArgs, resolveDemoOptions } from './options.js';

describe('the demo options behind the A/B policies', () => {
  it('default to the profiles, and read --plan-costs', () => {
    expect(resolveDemoOptions({})).toMatchObject({ planCosts: 'profile' });
    expect(resolveDemoOptions(parseDemoArgs(['--plan-costs', 'profile']).options)).toMatchObject({ planCosts: 'profile' });
    expect(resolveDemoOptions(parseDemoArgs(['--host-rules', 'replicas', '--plan-costs', 'consolidate']).options)).toMatchObject({ planCosts: 'consolidate' });
    const { options } = parseDemoArgs(['--', '--host-rules', 'replicas', '--plan-costs', 'measured', '--quick']);
    expect(resolveDemoOptions(options)).toMatchObject({ planCosts: 'measured', quick: true });
  });

  it('default to the edge world placed once, and read --world and --epara-placement', () => {
    expect(resolveDemoOptions({})).toMatchObject({ world: 'edge', eparaPlacement: 'static' });
    const { options } = parseDemoArgs(['--world', 'stationary', '--epara-placement', 'online']);
    expect(resolveDemoOptions(options)).toMatchObject({ world: 'stationary', eparaPlacement: 'online' });
    expect(() => resolveDemoOptions({ world: 'flat' as 'edge' })).toThrow(/world.*'edge' or 'stationary'.*flat/);
    expect(() => resolveDemoOptions({ eparaPlacement: 'often' as 'online' })).toThrow(/eparaPlacement.*'static' or 'online'/);
  });

  it('places as core places unless asked for the earlier host rules (--host-rules), which the replica inputs need', () => {
    expect(resolveDemoOptions({})).toMatchObject({ hostRules: 'core', planCosts: 'profile' });
    expect(resolveDemoOptions(parseDemoArgs(['--host-rules', 'replicas', '--plan-costs', 'device-time']).options)).toMatchObject({ hostRules: 'replicas', planCosts: 'device-time' });
    expect(() => resolveDemoOptions({ hostRules: 'all' as never })).toThrow(/hostRules.*'core' or 'replicas'/);
    expect(() => resolveDemoOptions({ planCosts: 'consolidate' })).toThrow(/planCosts.*unless hostRules is 'replicas'/);
    expect(() => resolveDemoOptions({ keepLatencyDevices: true })).toThrow(/keepLatencyDevices.*unless hostRules is 'replicas'/);
  });

  it('admits streams on the executor\'s capacity and re-places on the measured speed unless asked for the earlier rules (--stream-capacity, --plan-speed)', () => {
    expect(resolveDemoOptions({})).toMatchObject({ streamCapacity: 'executor', planSpeed: 'measured' });
    expect(resolveDemoOptions(parseDemoArgs(['--stream-capacity', 'host-ratio', '--plan-speed', 'profile']).options)).toMatchObject({ streamCapacity: 'host-ratio', planSpeed: 'profile' });
    expect(() => resolveDemoOptions({ streamCapacity: 'profile' as never })).toThrow(/streamCapacity.*'executor' or 'host-ratio'/);
    expect(resolveDemoOptions({}).streamPackPricing).toBe('hand-off-once');
    expect(resolveDemoOptions(parseDemoArgs(['--stream-pack-pricing', 'worst-class']).options).streamPackPricing).toBe('worst-class');
    expect(() => resolveDemoOptions({ streamPackPricing: 'profile' as never })).toThrow(/streamPackPricing.*'hand-off-once' or 'worst-class'/);
    expect(resolveDemoOptions({}).streamPackForming).toBe('when-free');
    expect(resolveDemoOptions(parseDemoArgs(['--stream-pack-forming', 'send-ahead']).options).streamPackForming).toBe('send-ahead');
    expect(() => resolveDemoOptions({ streamPackForming: 'plan' as never })).toThrow(/streamPackForming.*'when-free' or 'send-ahead'/);
    expect(() => resolveDemoOptions({ planSpeed: 'learned' as never })).toThrow(/planSpeed.*'measured' or 'profile'/);
  });

  it('pins streams local-first unless asked for the least wait (--stream-admission)', () => {
    expect(resolveDemoOptions({})).toMatchObject({ streamAdmission: 'local-first' });
    expect(resolveDemoOptions(parseDemoArgs(['--stream-admission', 'least-wait']).options)).toMatchObject({ streamAdmission: 'least-wait' });
    expect(() => resolveDemoOptions({ streamAdmission: 'nearest' as never })).toThrow(/streamAdmission.*'local-first' or 'least-wait'/);
  });

  it('keep the latency devices only when asked (--keep-latency-devices)', () => {
    expect(resolveDemoOptions({})).toMatchObject({ keepLatencyDevices: false });
    expect(resolveDemoOptions(parseDemoArgs(['--quick', '--host-rules', 'replicas', '--keep-latency-devices']).options)).toMatchObject({ keepLatencyDevices: true });
    expect(() => resolveDemoOptions({ keepLatencyDevices: 'yes' as unknown as boolean })).toThrow(/keepLatencyDevices.*a boolean/);
  });

  it('no longer take --announce: the runtime announces capacity at the learned hold time itself', () => {
    expect(() => parseDemoArgs(['--announce', 'measured'])).toThrow(/announce/);
  });

  it('refuse another value, naming the field and what it takes', () => {
    const { options } = parseDemoArgs(['--plan-costs', 'guessed']);
    expect(() => resolveDemoOptions(options)).toThrow(/planCosts.*'device-time', 'profile', 'measured' or 'consolidate'.*guessed/);
    try {
      resolveDemoOptions({ planCosts: 'x' as 'measured' });
    } catch (err) {
      expect(isEparaError(err) && err.code).toBe('INVALID_OPTIONS');
    }
    expect.assertions(2);
  });
});

describe('the calibration runs as the verdict is measured', () => {
  it('probes on runs of a trial’s length, after a warm-up of its own', async () => {
    const { calibrationMs, warmupMs } = await import('./capacity-search.js');
    expect(calibrationMs(resolveDemoOptions({}))).toBe(10_000);
    expect(calibrationMs(resolveDemoOptions({ duration: 20 }))).toBe(20_000);
    expect(calibrationMs(resolveDemoOptions({ quick: true }))).toBe(3000);
    expect([warmupMs(resolveDemoOptions({})), warmupMs(resolveDemoOptions({ quick: true }))]).toEqual([5000, 2000]);
  });
});
