/** The system under test as the world sees it (declared beside the world's interface, which it takes). */
export type { SimSystem } from './world-api.js';
