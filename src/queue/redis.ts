/**
 * The Redis commands vigil runs next to BullMQ's own (blobs, options, dead letters), on the
 * connection BullMQ already holds. BullMQ types its client as an adapter interface; given
 * connection options, as vigil gives it, the client is its bundled ioredis, which has these.
 */
export interface RedisCommands {
  ping(): Promise<string>;
  get(key: string): Promise<string | null>;
  strlen(key: string): Promise<number>;
  getBuffer(key: string): Promise<Buffer | null>;
  set(key: string, value: string | Buffer, expiryMode: 'EX', seconds: number): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
  keys(pattern: string): Promise<string[]>;
  sadd(key: string, member: string): Promise<number>;
  srem(key: string, member: string): Promise<number>;
  lpush(key: string, value: string): Promise<number>;
  ltrim(key: string, start: number, stop: number): Promise<unknown>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  lrem(key: string, count: number, value: string): Promise<number>;
  llen(key: string): Promise<number>;
}

/** The commands of a BullMQ queue's or worker's client. */
export async function redisCommands(holder: { client: Promise<unknown> }): Promise<RedisCommands> {
  const client = (await holder.client) as Partial<RedisCommands>;
  if (typeof client.getBuffer !== 'function') {
    throw new Error('vigil needs BullMQ to connect through ioredis (connection options, not a node-redis client)');
  }
  return client as RedisCommands;
}
