import { LRUCache } from 'lru-cache';

/** A cached value and the bytes of the text it was made from (the base of its size estimate). */
export interface Cached<V> {
  value: V;
  sourceBytes: number;
}

export type ByteBoundedCache<V> = LRUCache<string, Cached<V>>;

/**
 * Caches of values made from texts (parsed documents, compiled validators), one per service
 * configuration, each bounded by `config.cacheMaxBytes` of estimated memory rather than by a
 * number of entries: a value is estimated at its text's bytes × `bytesPerSourceByte` (a
 * measured factor), the least recently used go first, and a value estimated larger than the
 * whole budget is not kept at all.
 */
export function byteBoundedCaches<V>(bytesPerSourceByte: number): (config: { cacheMaxBytes: number }) => ByteBoundedCache<V> {
  const caches = new WeakMap<object, ByteBoundedCache<V>>();
  return (config) => {
    let cache = caches.get(config);
    if (!cache) {
      cache = new LRUCache<string, Cached<V>>({ maxSize: config.cacheMaxBytes, sizeCalculation: (entry) => Math.max(1, Math.ceil(entry.sourceBytes * bytesPerSourceByte)) });
      caches.set(config, cache);
    }
    return cache;
  };
}
