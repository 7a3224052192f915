import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { simulate } from '../simulate.js';
import { productionMix } from '../workload/production-mix.js';
import type { Scenario, SystemSpec } from '../scenario/scenario.js';

/**
 * Speed work must not change behaviour: each system's full figures for a seeded small zoned run are compared
 * to values captured with the current policies (EPARA's and the centralized baseline's recaptured after their fill-aware
 * launch and per-size guard, then after the overload search below the plan's size and EPARA's `nextRunMs` in the view, then
 * EPARA's after its egress backlog in offload decisions; EPARA's and the centralized baseline's hashes again when their
 * options listed `skipShrinkingHead` (figures unchanged: the rule does not fire on this lightly loaded run), then EPARA's
 * after placement took the server nearest a service's demand among equal items; EPARA's hash again when its learned guard
 * became core's `LatencyGuard`, figures unchanged on this run; Triton's, the centralized baseline's and Ray Serve's when a
result bound for the failed server's clients was lost with it — EPARA's lost none there; EPARA's when a backlog let its packs
grow from the size for the pinned rate to the plan's; EPARA's events and hash when stream admission through a peer paid
the delay both ways, figures unchanged; the centralized baseline's when its workers' reports became messages that arrive
after the delay and it dispatched only to the instances they listed; EPARA's and the centralized baseline's when their
placements saw failures only once detected and their load and drain commands paid the delay to their servers, EPARA's
forecaster counted arrivals only once the ring carried them, a stream client's admission paid its access leg, and the
centralized forecaster counted a request when it reached the controller). `epara-sharded`, the same EPARA run without
its failures and so simulated zone by zone, was captured when zones got worlds and random streams of their own (the
four runs above inject failures, run as one world and did not change). EPARA's and `epara-sharded`'s when placement turned to
 * co-location where one service per device left a service of a zone without an instance (`multiTask: 'auto'`; with
 * `multiTask: false` both figures are the ones before); their hashes again when EPARA deployed the shortage estimate
 * (`shortage: 'estimate'`: placement's stats now name the valuation kept; events, goodput and attainment unchanged, as
 * this scenario is not short enough for the floors-by-load placement to predict 2 % more); again when EPARA's placement read its items' arrival slack (`slackReach`: goodput 402 → 402.08,
 * sharded unchanged); their hashes again when EPARA's clients skipped requests their access server would refuse as
 * infeasible while their uplink is backed up (`skipHopelessUploadsMs`, listed in its options; events and figures
 * unchanged: no uplink of this run backs up that far with such requests), and once more when that option went off by
 * default (no real client hears its server's view before uploading). Clients heeding the refusals they heard
 * (`heedRefusalsMs`) are off too (no deployed client holds uploads back): EPARA's events and figures are the ones from
 * before that option, and so are its hashes with the two options it lists (`heedRefusalsMs`, `heedRefusalsBacklogMs`)
 * left out of the digest; these hashes include them. A deliberate policy change changes
 * them; then recapture with `EPARA_PRINT_FIXTURE=1 pnpm vitest run behaviour-fixture` and replace `FIXTURE`.
 */
function scenario(system: SystemSpec): Scenario {
  return {
    name: 'behaviour-fixture', seed: 7, durationMs: 12_000,
    cluster: { groups: [{ preset: 'gpu-server', count: 16 }, { preset: 'jetson', count: 8 }, { preset: 'micro', count: 8 }], zoneSize: 10 },
    workload: productionMix({ scale: 2 }),
    failures: [{ atMs: 4000, server: 2 }, { atMs: 8000, server: 2, recover: true }],
    system,
  };
}

const SYSTEMS: Record<string, SystemSpec> = {
  epara: { kind: 'epara', syncOptions: { lossProbability: 0.05, noise: 0.05 } },
  triton: { kind: 'triton' },
  centralized: { kind: 'centralized' },
  'ray-serve': { kind: 'ray-serve' },
};

interface Digest { readonly events: number; readonly goodput: number; readonly attainment: Record<string, number>; readonly sha256: string }

/** Everything but wall-clock fields (keys ending in ms inside systemInfo.placement). */
function digest(r: ReturnType<typeof simulate>): Digest {
  const placement = r.systemInfo['placement'] as Record<string, unknown> | undefined;
  const rest = placement === undefined ? undefined : Object.fromEntries(Object.entries(placement).filter(([k]) => !/ms$/i.test(k)));
  const full = JSON.stringify({ ...r, systemInfo: { ...r.systemInfo, placement: rest } });
  const attainment = Object.fromEntries(Object.entries(r.perService).map(([id, s]) => [id, s.sloAttainment]));
  return { events: r.events, goodput: r.total.goodputPerSec, attainment, sha256: createHash('sha256').update(full).digest('hex') };
}

const FIXTURE: Record<string, Digest> = {
  "epara": {"events":21407,"goodput":402.0833333333333,"attainment":{"llm-chat":0.8392857142857143,"seg-image":0.7003293084522503,"classify":0.9801699716713881,"seg-video":1,"hci":0.9688365650969529},"sha256":"4dc541c4f260d4f08e1f4a84e0c18848dca76a53f5df7fbe8a12c5a566231f73"},
  "triton": {"events":18188,"goodput":270.5,"attainment":{"llm-chat":1,"seg-image":0.8046103183315039,"classify":0.3031161473087819,"seg-video":0.9896831245394252,"hci":0.47506925207756234},"sha256":"866662f240e7f4c5fe298c6ece4707e020da54f733150751097536988f63af48"},
  "centralized": {"events":45956,"goodput":268.75,"attainment":{"llm-chat":1,"seg-image":0.5510428100987925,"classify":0.004957507082152974,"seg-video":0.8997789240972734,"hci":0.9965373961218836},"sha256":"1e12a3147804bba088a63b8edd5a34b86cb04e4804c484d617167c5e784838b1"},
  "ray-serve": {"events":26355,"goodput":208.41666666666666,"attainment":{"llm-chat":1,"seg-image":0.47091108671789245,"classify":0.11827195467422097,"seg-video":0.8953574060427414,"hci":0.4390581717451524},"sha256":"e06b2807006f2df134ffd86a50f107cf4400a7d0a2944bb2f233269ad308e549"},
  "epara-sharded": {"events":21421,"goodput":398.9166666666667,"attainment":{"llm-chat":0.9722222222222222,"seg-image":0.7004357298474946,"classify":0.9790310918293564,"seg-video":1,"hci":0.9681440443213296},"sha256":"568e8967e1b1ce3c347e6ffd9f4edd4c9a4a5ea27e93bdda8787f546068432ef"},
};

/**
 * EPARA without the injected failures: its four zones are independent, so the run is simulated zone by zone (each
 * zone its own world and random streams; see `shardPlanOf`), the path that `simulateInParallel` spreads over threads.
 */
const SHARDED: Scenario = { ...scenario(SYSTEMS['epara']!), name: 'behaviour-fixture-sharded', failures: [] };

describe('simulator behaviour fixture (captured before speed work)', () => {
  for (const [name, s] of [...Object.entries(SYSTEMS).map(([n, system]) => [n, scenario(system)] as const), ['epara-sharded', SHARDED] as const]) {
    it(`${name}: same events, goodput, per-service attainment and full figures`, () => {
      const got = digest(simulate(s));
      if (process.env['EPARA_PRINT_FIXTURE'] === '1') process.stdout.write(`FIXTURE ${JSON.stringify(name)}: ${JSON.stringify(got)},\n`);
      expect(got.events).toBeGreaterThan(5000);
      expect(got).toEqual(FIXTURE[name]);
    });
  }
});
