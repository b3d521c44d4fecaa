/**
 * Who is at the other end of a connection, as far as the handshake tells: where it came from and
 * whether it proved to be the engine's owner.
 */
export interface Peer {
  /** Remote address and port, for logs (`127.0.0.1:53122`). */
  address: string;
  /**
   * `owner`: presented the management token. `anonymous`: presented none (every worker).
   * `wrong-token`: presented a token that is not this engine's (a stale or foreign one).
   */
  access: 'owner' | 'anonymous' | 'wrong-token';
}

/** Whether the peer may call the owner-only (management) functions. */
export function isOwner(peer: Peer): boolean {
  return peer.access === 'owner';
}
