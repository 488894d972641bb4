import type { Direction, Level } from '../types.ts';
import type { RuleSpec } from './types.ts';

type Row = [id: string, level: Level, direction: Direction, description: string, consequence: string, extra?: Partial<RuleSpec>];

/** Same id as oasdiff's, which the row implements. */
const same = (extra: Partial<RuleSpec> = {}): Partial<RuleSpec> => ({ ...extra });
/** A check oasdiff does not have. */
const own = (differs: string, extra: Partial<RuleSpec> = {}): Partial<RuleSpec> => ({ oasdiff: [], differs, ...extra });

const VERSIONING = 'Reported only when the policy asks (diff.versionPolicy): registration already refuses a breaking change without a major version bump.';

const ROWS: Row[] = [
  // Paths and operations (src/diff/operations.ts)
  ['endpoint-added', 'info', 'request', 'An operation was added.', 'Nothing changes for existing clients; {subject} is new and clients may start to use it.', same({ aliases: ['api-operation-added'] })],
  ['api-path-removed-without-deprecation', 'breaking', 'request', 'A path and its operation were removed without being deprecated first.', 'Clients that call {subject} will get an error (404): they had no deprecation notice.'],
  ['api-removed-without-deprecation', 'breaking', 'request', 'An operation was removed (its path remains) without being deprecated first.', 'Clients that call {subject} will get an error (404 or 405): they had no deprecation notice.', same({ aliases: ['api-operation-removed-without-deprecation'] })],
  ['api-path-removed-with-deprecation', 'info', 'request', 'A deprecated path and its operation, without a sunset date, were removed.', 'Clients that still call {subject} will get an error (404); it was deprecated, so they were told to move off it.'],
  ['api-removed-with-deprecation', 'info', 'request', 'A deprecated operation without a sunset date was removed.', 'Clients that still call {subject} will get an error (404 or 405); it was deprecated, so they were told to move off it.', same({ aliases: ['api-operation-removed-with-deprecation'] })],
  ['api-path-removed-before-sunset', 'breaking', 'request', 'A deprecated path and its operation were removed before their x-sunset date.', 'Clients were promised {subject} until its sunset date; calls to it will fail (404) before then.'],
  ['api-removed-before-sunset', 'breaking', 'request', 'A deprecated operation was removed before its x-sunset date.', 'Clients were promised {subject} until its sunset date; calls to it will fail (404 or 405) before then.'],
  ['api-path-sunset-parse', 'breaking', 'request', 'A removed or deprecated operation has an x-sunset that is not an RFC 3339 date.', 'Nobody can tell when {subject} may go away: its sunset date cannot be read.'],
  ['api-removed-after-sunset', 'info', 'request', 'A deprecated operation was removed after its x-sunset date.', 'Clients that still call {subject} will get an error (404 or 405); its announced sunset date has passed.', own('oasdiff reports nothing once the sunset has passed; Accord lists the removal so the board sees it.')],
  ['api-removed-unstable', 'info', 'request', 'A draft or alpha operation was removed.', 'Clients that tried {subject}, a draft or alpha operation that could change without notice, will get an error.', own('oasdiff reports nothing for draft and alpha operations; Accord lists the removal so the board sees it.', { aliases: ['api-path-removed', 'api-operation-removed'] })],
  ['api-operation-id-added', 'info', 'request', 'An operation gained an operationId.', 'Nothing changes on the wire; generated clients name {subject} differently.'],
  ['api-operation-id-removed', 'info', 'request', 'An operation lost or changed its operationId.', 'Nothing changes on the wire; generated clients may rename or lose the method for {subject}.'],
  ['api-tag-added', 'info', 'request', 'A tag was added to an operation.', 'Nothing changes on the wire; documentation groups the operation under {subject}.'],
  ['api-tag-removed', 'info', 'request', 'A tag was removed from an operation.', 'Nothing changes on the wire; documentation no longer groups the operation under {subject}.'],
  ['operation-callbacks-changed', 'warning', 'response', 'The callbacks of an operation changed.', 'The calls the API makes back to partners for {subject} changed: partners that receive them should check they still accept them.', own('oasdiff does not compare callbacks.')],
  ['operation-servers-changed', 'warning', 'request', 'The servers of an operation changed.', 'Clients configured with the old server address for {subject} may no longer reach it.', own('oasdiff does not compare servers.')],
  ['webhook-added', 'info', 'response', 'A webhook (OpenAPI 3.1) was added.', 'Partners may start to receive {subject}; nothing changes for existing calls.'],
  ['webhook-removed', 'breaking', 'response', 'A webhook (OpenAPI 3.1) was removed.', 'Partners that rely on {subject} will stop receiving it.'],
  // Lifecycle: stability and deprecation (src/diff/lifecycle.ts)
  ['api-stability-decreased', 'breaking', 'request', 'An operation\'s x-stability-level went down (no level counts as stable).', 'Clients can no longer rely on {subject} staying as it is: it may now change without notice.'],
  ['api-stability-increased', 'info', 'request', 'An operation\'s x-stability-level went up.', 'Clients may rely more on {subject}: it promises more stability.'],
  ['api-invalid-stability-level', 'breaking', 'request', 'An operation\'s x-stability-level is not draft, alpha, beta or stable.', 'Nobody can tell how stable {subject} is: its stability level is invalid.'],
  ['endpoint-deprecated', 'info', 'request', 'An operation was deprecated without a sunset date.', 'Clients keep working for now; they should plan to move off {subject}.'],
  ['endpoint-deprecated-with-sunset', 'info', 'request', 'An operation was deprecated with a sunset date at least the policy\'s minimum days away.', 'Clients keep working until the sunset date; they must move off {subject} before then.'],
  ['endpoint-reactivated', 'info', 'request', 'A deprecated operation is no longer deprecated.', 'Clients may keep using {subject}.'],
  ['api-deprecated-sunset-parse', 'breaking', 'request', 'An operation was deprecated with an x-sunset that is not an RFC 3339 date.', 'Clients cannot tell when {subject} goes away: its sunset date cannot be read.'],
  ['api-deprecated-sunset-missing', 'breaking', 'request', 'An operation was deprecated without the x-sunset date the policy requires (diff.deprecation).', 'Clients are not told when {subject} goes away, which the policy requires.'],
  ['api-sunset-date-too-small', 'breaking', 'request', 'An operation was deprecated with a sunset date sooner than the policy\'s minimum days (or already past).', 'Clients get less notice than the policy promises before {subject} goes away.'],
  ['sunset-deleted', 'breaking', 'request', 'The x-sunset of an operation that stays deprecated was removed.', 'Clients no longer know when {subject} goes away.'],
  ['api-sunset-date-changed-too-small', 'breaking', 'request', 'The sunset date of a deprecated operation moved earlier, to less than the policy\'s minimum days away.', 'Clients get less notice than they were promised before {subject} goes away.'],
  // Request parameters (src/diff/operations.ts, src/diff/lifecycle.ts)
  ['new-required-request-parameter', 'breaking', 'request', 'A required request parameter was added to an operation.', 'Clients that do not send the {subject} will be refused.'],
  ['new-optional-request-parameter', 'info', 'request', 'An optional request parameter was added to an operation.', 'Nothing changes for existing clients; they may send the {subject}.', same({ aliases: ['request-parameter-added'] })],
  ['new-request-path-parameter', 'breaking', 'request', 'A path parameter was added to an operation.', 'Clients that build the URL without the {subject} will call the wrong address.'],
  ['new-required-request-default-parameter-to-existing-path', 'breaking', 'request', 'A required parameter was added at path level, to every operation of an existing path.', 'Clients that do not send the {subject} will be refused by every operation of the path.'],
  ['new-optional-request-default-parameter-to-existing-path', 'info', 'request', 'An optional parameter was added at path level, to every operation of an existing path.', 'Nothing changes for existing clients; they may send the {subject}.'],
  ['request-parameter-removed', 'warning', 'request', 'A request parameter that was not deprecated was removed.', 'Clients that still send the {subject} may have it ignored or be refused.'],
  ['request-parameter-removed-with-deprecation', 'info', 'request', 'A deprecated request parameter without a sunset date was removed.', 'Clients that still send the {subject} may have it ignored; it was deprecated.'],
  ['request-parameter-removed-before-sunset', 'breaking', 'request', 'A deprecated request parameter was removed before its x-sunset date.', 'Clients were promised the {subject} until its sunset date; it stops working before then.'],
  ['request-parameter-removed-after-sunset', 'info', 'request', 'A deprecated request parameter was removed after its x-sunset date.', 'Clients that still send the {subject} may have it ignored; its sunset date has passed.', own('oasdiff reports nothing once the sunset has passed; Accord lists the removal so the board sees it.')],
  ['request-parameter-sunset-parse', 'breaking', 'request', 'A removed or deprecated request parameter has an x-sunset that is not an RFC 3339 date.', 'Clients cannot tell when the {subject} goes away: its sunset date cannot be read.'],
  ['request-parameter-became-required', 'breaking', 'request', 'An optional request parameter became required.', 'Clients that do not send the {subject} will be refused.'],
  ['request-parameter-became-optional', 'info', 'request', 'A required request parameter became optional.', 'Nothing changes for existing clients; they may leave out the {subject}.'],
  ['request-parameter-deprecated', 'info', 'request', 'A request parameter was deprecated.', 'Clients keep working for now; they should stop sending the {subject}.'],
  ['request-parameter-reactivated', 'info', 'request', 'A deprecated request parameter is no longer deprecated.', 'Clients may keep sending the {subject}.'],
  ['request-parameter-deprecated-sunset-missing', 'breaking', 'request', 'A request parameter was deprecated without the x-sunset date the policy requires (diff.deprecation).', 'Clients are not told when the {subject} goes away, which the policy requires.'],
  ['request-parameter-sunset-date-too-small', 'breaking', 'request', 'A request parameter was deprecated with a sunset date sooner than the policy\'s minimum days (or already past).', 'Clients get less notice than the policy promises before the {subject} goes away.'],
  ['request-parameter-sunset-deleted', 'breaking', 'request', 'The x-sunset of a request parameter that stays deprecated was removed.', 'Clients no longer know when the {subject} goes away.'],
  ['request-parameter-sunset-date-changed-too-small', 'breaking', 'request', 'The sunset date of a deprecated request parameter moved earlier, to less than the policy\'s minimum days away.', 'Clients get less notice than they were promised before the {subject} goes away.'],
  ['request-parameter-serialization-changed', 'warning', 'request', 'A request parameter\'s style, explode, allowReserved or another serialization field changed.', 'Clients that encode the {subject} the old way may have it misread.', own('oasdiff does not compare parameter serialization.')],
  // Request bodies (src/diff/bodies.ts)
  ['request-body-removed', 'breaking', 'request', 'An operation no longer takes a request body.', 'Clients that send a body to {subject} may be refused or have it ignored.'],
  ['request-body-added-required', 'breaking', 'request', 'A required request body was added.', 'Clients that call {subject} without a body will be refused.'],
  ['request-body-added-optional', 'info', 'request', 'An optional request body was added.', 'Nothing changes for existing clients; they may send a body to {subject}.', same({ aliases: ['request-body-added'] })],
  ['request-body-became-required', 'breaking', 'request', 'An optional request body became required.', 'Clients that call {subject} without a body will be refused.'],
  ['request-body-became-optional', 'info', 'request', 'A required request body became optional.', 'Nothing changes for existing clients; they may leave out the body of {subject}.'],
  ['request-body-media-type-added', 'info', 'request', 'A request body media type was added.', 'Nothing changes for existing clients; they may also send {subject}.'],
  ['request-body-media-type-removed', 'breaking', 'request', 'A request body media type was removed.', 'Clients that send the body as {subject} will be refused (415).'],
  ['request-body-media-type-schema-added', 'breaking', 'request', 'A request media type that had no schema (anything accepted) now has one.', 'Clients that send {subject} bodies the new schema does not allow will be refused.'],
  ['request-body-media-type-schema-removed', 'info', 'request', 'A request media type lost its schema: anything is accepted.', 'Nothing changes for existing clients: any {subject} body is accepted.'],
  ['request-body-encoding-changed', 'warning', 'request', 'The encoding (multipart or form field serialization) of a request media type changed.', 'Clients that encode {subject} parts the old way may have them misread.', own('oasdiff does not compare encodings.')],
  // Responses (src/diff/bodies.ts)
  ['response-success-status-removed', 'breaking', 'response', 'A success (2xx) response status was removed.', 'Clients that expect {subject} will get another status and may misread the outcome of their call.'],
  ['response-non-success-status-removed', 'info', 'response', 'A non-success (1xx, 3xx, 4xx, 5xx) response status was removed.', 'Clients no longer get {subject}; their handling of it simply goes unused.'],
  ['response-success-status-added', 'info', 'response', 'A success (2xx) response status was added.', 'Clients may now get {subject}; clients that treat any 2xx as success are unaffected.', same({ aliases: ['response-status-added'] })],
  ['response-non-success-status-added', 'info', 'response', 'A non-success response status was added.', 'Clients may now get {subject} and should handle it like other errors.'],
  ['response-media-type-removed', 'breaking', 'response', 'A response media type was removed.', 'Clients that ask for {subject} will not get it (406) or will get a format they do not read.'],
  ['response-media-type-added', 'info', 'response', 'A response media type was added.', 'Nothing changes for existing clients; they may ask for {subject}.'],
  ['response-media-type-name-changed', 'info', 'response', 'A response media type\'s parameters changed (e.g. charset).', 'Clients receive {subject}; only its parameters differ.'],
  ['response-media-type-name-generalized', 'breaking', 'response', 'A response media type became more general (e.g. application/problem+json → application/json).', 'Clients that rely on the specific format will receive the more general {subject}.'],
  ['response-media-type-name-specialized', 'info', 'response', 'A response media type became more specific (e.g. application/json → application/problem+json).', 'Clients receive the more specific {subject}, which is still what they read.'],
  ['response-body-media-type-schema-added', 'info', 'response', 'A response media type that had no schema now has one.', 'Nothing changes for existing clients; {subject} responses are now described.'],
  ['response-body-media-type-schema-removed', 'warning', 'response', 'A response media type lost its schema: anything may be returned.', 'Clients can no longer rely on the shape of {subject} responses.'],
  ['response-links-changed', 'warning', 'response', 'The links of a response changed.', 'Clients that follow links from {subject} should check they still work.', own('oasdiff does not compare links.')],
  // Response headers (src/diff/bodies.ts)
  ['required-response-header-removed', 'breaking', 'response', 'A required response header was removed.', 'Clients that read the {subject} will no longer find it.'],
  ['optional-response-header-removed', 'warning', 'response', 'An optional response header was removed.', 'Clients that read the {subject} when present will no longer find it.'],
  ['response-header-became-optional', 'breaking', 'response', 'A required response header became optional.', 'Clients that expect the {subject} on every response may not find it.'],
  ['response-header-added', 'info', 'response', 'A response header was added.', 'Nothing changes for existing clients; they may read the {subject}.'],
  // Security (src/diff/security.ts)
  ['api-security-added', 'info', 'request', 'A security requirement was added to an operation.', 'Clients that call the operation without {subject} credentials may be refused (401 or 403).'],
  ['api-security-removed', 'info', 'request', 'A security requirement was removed from an operation.', 'Clients need not send {subject} credentials to the operation any more.'],
  ['api-security-scope-added', 'info', 'request', 'A scope was added to an operation\'s security requirement.', 'Clients whose tokens lack the {subject} may be refused (403).'],
  ['api-security-scope-removed', 'info', 'request', 'A scope was removed from an operation\'s security requirement.', 'Clients need no longer hold the {subject}.'],
  ['api-global-security-added', 'info', 'request', 'A security requirement was added for the whole API.', 'Clients without {subject} credentials may be refused (401 or 403) by every operation without its own security.'],
  ['api-global-security-removed', 'info', 'request', 'A security requirement was removed for the whole API.', 'Clients need not send {subject} credentials any more.'],
  ['api-global-security-scope-added', 'info', 'request', 'A scope was added to the API\'s security requirement.', 'Clients whose tokens lack the {subject} may be refused (403).'],
  ['api-global-security-scope-removed', 'info', 'request', 'A scope was removed from the API\'s security requirement.', 'Clients need no longer hold the {subject}.'],
  ['api-security-component-added', 'info', 'request', 'A security scheme was added to components.', 'Nothing changes until an operation requires {subject}.'],
  ['api-security-component-removed', 'info', 'request', 'A security scheme was removed from components.', 'Operations no longer offer {subject}; clients using it should check which scheme replaces it.', same({ aliases: ['security-scheme-removed'] })],
  ['api-security-component-type-changed', 'info', 'request', 'A security scheme\'s type changed (e.g. apiKey → http).', 'Clients must send {subject} credentials in the new way.'],
  ['api-security-component-oauth-url-changed', 'info', 'request', 'The authorization URL of an OAuth flow changed.', 'Clients must send users to the new authorization URL of {subject}.'],
  ['api-security-component-oauth-token-url-changed', 'info', 'request', 'The token URL of an OAuth flow changed.', 'Clients must get tokens from the new token URL of {subject}.'],
  ['api-security-component-oauth-scope-added', 'info', 'request', 'A scope was added to an OAuth flow.', 'Nothing changes until an operation requires the {subject}.'],
  ['api-security-component-oauth-scope-removed', 'info', 'request', 'A scope was removed from an OAuth flow.', 'Clients can no longer ask for the {subject}.'],
  ['api-security-component-oauth-scope-changed', 'info', 'request', 'The description of an OAuth scope changed.', 'Nothing changes on the wire for the {subject}.'],
  ['security-scheme-changed', 'warning', 'request', 'How a security scheme carries credentials changed (apiKey location or name, HTTP scheme).', 'Clients that send {subject} credentials the old way (header, query, cookie or scheme) will be refused.', own('oasdiff does not compare these fields; Accord asks for review, as clients must change how they authenticate.')],
  // The document (src/diff/document.ts)
  ['api-servers-changed', 'warning', 'request', 'The servers of the API changed.', 'Clients configured with the old addresses may no longer reach the API: {subject} changed.', own('oasdiff does not compare servers.')],
  ['api-schema-removed', 'info', 'request', 'A schema was removed from components/schemas.', 'Nothing changes on the wire unless an operation used {subject}; generated clients lose the type.'],
  ['api-version-not-bumped', 'info', 'request', 'A breaking change was found but info.version did not change (semver versions only).', 'The version {subject} does not tell clients that this release breaks them.', same({ differs: VERSIONING })],
  ['api-version-decreased', 'info', 'request', 'A breaking change was found and info.version went down (semver versions only).', 'The version {subject} goes backwards although this release breaks clients.', same({ differs: VERSIONING })],
  ['api-major-version-not-bumped', 'info', 'request', 'A breaking change was found but the major version did not increase (below 1.0.0: the minor) (semver versions only).', 'The version {subject} does not tell clients that this release breaks them.', same({ differs: VERSIONING })],
];

/** Rules for paths, operations, parameters, bodies, responses, headers, security, lifecycle (src/diff/operations.ts and its siblings). */
export const OPERATION_RULES: RuleSpec[] = ROWS.map(([id, level, direction, description, consequence, extra]) => ({ id, level, direction, description, consequence, oasdiff: [id], ...extra }));
