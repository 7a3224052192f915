import type { ServerSpec } from '../../model/device.js';
import type { ServiceSpec } from '../../model/service.js';
import { affineProfile } from '../../profiles/latency-profile.js';
import { placementService } from '../../testing/placement-fixture.js';
import type { placeServices } from '../place-services.js';
import type { PlacementInput } from '../types.js';
import { affinePlan } from './random-instance.js';

/*
 * The contest the slack-aware placement rules are tested on (`arrivalSlack`, `serverSwap`): two services, two
 * servers, and one near server both want.
 */

const GB = 1024 ** 3;

const svc = (id: string, deadlineMs: number): ServiceSpec =>
  placementService(id, { weightsGb: 1, deadlineMs, loadTimeMs: 1000, profiles: { gpu: affineProfile('gpu', { fixedMs: 5, perItemMs: 1.25, maxBatch: 64 }) } });

/**
 * Two GPU servers 10 ms apart: `hot`, where most demand enters (its clients' uplink is saturated, so items reach it
 * late), and `far`, another site. Each plan runs a batch of 8 in 15 ms (worst case 30 ms) and serves 533 items/s,
 * so either server's instance serves all of a service's 100 items/s and every server reaches every access server:
 * the objective values both assignments alike, and the greedy's order decides which service gets `hot`.
 */
const servers: ServerSpec[] = ['far', 'hot'].map((id) => ({ id, devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] }));
const delaysMs = { far: { far: 0, hot: 10 }, hot: { far: 10, hot: 0 } };
export const image = svc('image', 50);
const video = svc('video', 200);
export const plan = (s: ServiceSpec): ReturnType<typeof affinePlan> => affinePlan(s, 'gpu', { fixedMs: 5, perItemMs: 1.25, batch: 8 });
export const contest: PlacementInput = {
  servers,
  services: [image, video],
  plans: { image: [plan(image)], video: [plan(video)] },
  demand: [
    { serviceId: 'image', ratePerServer: { hot: 60, far: 40 } },
    { serviceId: 'video', ratePerServer: { hot: 60, far: 40 } },
  ],
  delaysMs,
};

/**
 * An item fits a server when its slack covers the round trip and its own run (15 ms). `image`'s hot-spot items
 * arrive with 5 ms left: too little anywhere; its `far` items with 30 ms: enough at `far` (15 ms), not at `hot`
 * (20 ms round trip + 15). `video`'s hot-spot items arrive with 30 ms left: enough at `hot` only; its `far` items
 * arrive fresh. So `image` at `hot` and `video` at `far` serve 0 + 40 items/s in time; swapped, 40 + 100.
 */
export const slack: PlacementInput['arrivalSlackMs'] = { image: { hot: [5], far: [30] }, video: { hot: [30], far: [200] } };

/** The servers a placement gave service `id`'s instances. */
export const serverOf = (r: ReturnType<typeof placeServices>, id: string): string[] => r.instances.filter((i) => i.serviceId === id).map((i) => i.serverId);
