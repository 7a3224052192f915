import { Session } from 'node:inspector';

/** A connected inspector session of this thread and a promise-returning `post` (for the benches' profiles). */
export function inspectorSession(): { readonly session: Session; readonly post: (method: string, params?: object) => Promise<any> } {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<any> =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (e, r) => (e ? reject(e) : resolve(r))));
  return { session, post };
}
