import API_EXAMPLES from './examples.json' with { type: 'json' };

/** The parts of an OpenAPI document examples are attached to. */
interface Media {
  example?: unknown;
}
interface Operation {
  requestBody?: { content?: Record<string, Media> };
  responses?: Record<string, { content?: Record<string, Media> }>;
}

/**
 * Attaches the examples of src/http/examples.json (drawn from real answers of the test suite,
 * scripts/api-examples.mts) to the document's request bodies and responses, keyed
 * "METHOD /template request" and "METHOD /template status media-type".
 */
export function attachExamples(paths: Record<string, Record<string, Operation>>): void {
  const examples = API_EXAMPLES as Record<string, unknown>;
  for (const [template, item] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const name = `${method.toUpperCase()} ${template}`;
      const body = operation.requestBody?.content?.['application/json'];
      if (body && examples[`${name} request`] !== undefined) body.example = examples[`${name} request`];
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        for (const [mediaType, media] of Object.entries(response.content ?? {})) {
          const example = examples[`${name} ${status} ${mediaType}`];
          if (example !== undefined) media.example = example;
        }
      }
    }
  }
}
