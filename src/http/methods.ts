/** A route as Hono lists it (`app.routes`): its method and path pattern. */
interface Route {
  method: string;
  path: string;
}

/** A route's path pattern as a regular expression: `:name` (with or without its own `{…}` pattern) one segment, `*` the rest. */
function patternOf(path: string): RegExp {
  const segments = path.split('/').map((segment) => {
    if (segment === '*') return '.*';
    if (segment.startsWith(':')) return '[^/]+';
    return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${segments.join('/')}/?$`);
}

/**
 * The methods other routes serve at `path`, for a 405 with `Allow` when a request's method is not
 * among them (a known path with a wrong method is not a 404). HEAD comes with GET, as Hono serves it.
 * Catch-all routes (`ALL`) are not known paths: they answer for themselves.
 */
export function allowedMethods(routes: readonly Route[]): (path: string) => string[] {
  const patterns = routes.filter((r) => r.method !== 'ALL').map((r) => ({ method: r.method, pattern: patternOf(r.path) }));
  return (path) => {
    const methods = new Set(patterns.filter((r) => r.pattern.test(path)).map((r) => r.method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  };
}
