/**
 * `multipart/related` (RFC 2387) with the RFC 2046 §5.1.1 body syntax, on Buffers. Binary-safe: part
 * bodies are sliced from the input, never decoded, so WBXML (NUL, 0xFF, CR LF, `--`) survives byte-exact.
 *
 * Tolerated as seen from real PIs: a preamble and epilogue, bare LF line ends, transport padding after a
 * delimiter, a quoted or bare boundary, `multipart/mixed` instead of `multipart/related`.
 */
import { randomBytes } from 'node:crypto';
import { AgentError, ErrorCodes } from '../../errors.js';
import { formatParamValue, parseContentType } from './content-type.js';
import { formatMimeHeaders, parseMimeHeaders, type MimeHeaders } from './mime-headers.js';

/** One body part: headers (lower-case names) and its bytes. */
export interface MimePart {
  headers: MimeHeaders;
  body: Buffer;
}

export interface MultipartLimits {
  /** More parts than this → MULTIPART_INVALID (a PAP push has 2, at most 3). */
  maxParts: number;
  /** Header block of one part larger than this → MULTIPART_INVALID. */
  maxHeaderBytes: number;
}

export const DEFAULT_MULTIPART_LIMITS: MultipartLimits = { maxParts: 8, maxHeaderBytes: 8192 };

export interface ParsedMultipart {
  mediaType: string;
  boundary: string;
  /** RFC 2387 §3.1 `type`: the media type of the root part. */
  type?: string;
  /** RFC 2387 §3.2 `start`: Content-ID of the root part. */
  start?: string;
  parts: MimePart[];
}

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;

function invalid(message: string, field = 'multipart'): AgentError {
  return new AgentError(ErrorCodes.MULTIPART_INVALID, message, field);
}

/** RFC 2046 §5.1.1: 1–70 `bchars`, not ending in a space. */
export function isValidBoundary(boundary: string): boolean {
  return /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/.test(boundary);
}

interface Delimiter {
  /** Where the part before this delimiter ends (the CRLF/LF before `--boundary` belongs to the delimiter). */
  partEnd: number;
  /** Where the next part starts (after the delimiter line). */
  next: number;
  close: boolean;
}

/** Finds the next delimiter line at or after `from` (RFC 2046 §5.1.1 `delimiter` / `close-delimiter`). */
function findDelimiter(body: Buffer, dashBoundary: Buffer, from: number, first: boolean): Delimiter | undefined {
  let search = from;
  for (;;) {
    const at = body.indexOf(dashBoundary, search);
    if (at < 0) return undefined;
    search = at + 1;
    const lineStart = at === 0 && first ? 0 : body[at - 1] === LF ? at - 1 : -1;
    if (lineStart < 0) continue;
    const partEnd = Math.max(from, lineStart > 0 && body[lineStart - 1] === CR ? lineStart - 1 : lineStart);
    let i = at + dashBoundary.length;
    const close = body[i] === DASH && body[i + 1] === DASH;
    if (close) return { partEnd, next: body.length, close };
    while (body[i] === 0x20 || body[i] === 0x09) i++;
    if (body[i] === CR && body[i + 1] === LF) return { partEnd, next: i + 2, close };
    if (body[i] === LF) return { partEnd, next: i + 1, close };
    if (i >= body.length) throw invalid('truncated: delimiter line without line end');
    // `--boundary` followed by something else is content, not a delimiter (the boundary was a prefix).
  }
}

/** Splits one encapsulation into its header block and body at the first empty line. */
function splitPart(entity: Buffer, maxHeaderBytes: number): MimePart {
  let lineStart = 0;
  while (lineStart <= entity.length) {
    const lf = entity.indexOf(LF, lineStart);
    const lineEnd = lf < 0 ? entity.length : lf;
    const isEmpty = lineEnd === lineStart || (lineEnd === lineStart + 1 && entity[lineStart] === CR);
    if (isEmpty) {
      if (lineStart > maxHeaderBytes) throw invalid(`part headers exceed ${maxHeaderBytes} bytes`, 'headers');
      const bodyStart = lf < 0 ? entity.length : lf + 1;
      return { headers: parseMimeHeaders(entity.subarray(0, lineStart)), body: entity.subarray(bodyStart) };
    }
    if (lineEnd > maxHeaderBytes) throw invalid(`part headers exceed ${maxHeaderBytes} bytes`, 'headers');
    if (lf < 0) break;
    lineStart = lf + 1;
  }
  // Headers and no blank line: a part with headers only (seen from PIs that end the last part abruptly).
  return { headers: parseMimeHeaders(entity), body: Buffer.alloc(0) };
}

/**
 * Parses a `multipart/related` (or `multipart/mixed`) body. Throws `MULTIPART_INVALID` when the
 * Content-Type has no usable boundary, no delimiter or no close delimiter is found, or a limit is hit.
 */
export function parseMultipartRelated(contentType: string, body: Buffer, limits: Partial<MultipartLimits> = {}): ParsedMultipart {
  const { maxParts, maxHeaderBytes } = { ...DEFAULT_MULTIPART_LIMITS, ...limits };
  const { mediaType, params } = parseContentType(contentType);
  if (mediaType !== 'multipart/related' && mediaType !== 'multipart/mixed') {
    throw invalid(`not a multipart/related body: ${JSON.stringify(mediaType)}`, 'Content-Type');
  }
  const boundary = params.boundary;
  if (boundary === undefined || boundary.length === 0 || boundary.length > 200 || /[\r\n]/.test(boundary)) {
    throw invalid('Content-Type has no usable boundary parameter', 'boundary');
  }
  const dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
  let delimiter = findDelimiter(body, dashBoundary, 0, true);
  if (!delimiter) throw invalid('no delimiter line for the boundary');
  if (delimiter.close) throw invalid('no body parts');
  const parts: MimePart[] = [];
  while (!delimiter.close) {
    const start = delimiter.next;
    const end = findDelimiter(body, dashBoundary, start, false);
    if (!end) throw invalid('truncated: no close delimiter');
    if (parts.length >= maxParts) throw invalid(`more than ${maxParts} parts`);
    parts.push(splitPart(body.subarray(start, end.partEnd), maxHeaderBytes));
    delimiter = end;
  }
  return {
    mediaType,
    boundary,
    ...(params.type !== undefined ? { type: params.type } : {}),
    ...(params.start !== undefined ? { start: params.start } : {}),
    parts,
  };
}

export interface BuiltMultipart {
  contentType: string;
  boundary: string;
  body: Buffer;
}

function containsDelimiter(parts: readonly MimePart[], boundary: string): boolean {
  const needle = Buffer.from(`--${boundary}`, 'latin1');
  return parts.some((part) => part.body.includes(needle));
}

/**
 * Builds a `multipart/related` body with CRLF line ends. `type` defaults to the first part's media type
 * (RFC 2387 §3.1 makes it mandatory). A given boundary that occurs in a body → MULTIPART_INVALID; a
 * generated one is re-drawn until it occurs in none.
 */
export function buildMultipartRelated(
  parts: readonly MimePart[],
  boundary?: string,
  options: { type?: string; start?: string } = {},
): BuiltMultipart {
  if (parts.length === 0) throw invalid('a multipart body needs at least one part');
  let chosen = boundary;
  if (chosen === undefined) {
    do chosen = `=_pap_${randomBytes(12).toString('hex')}`;
    while (containsDelimiter(parts, chosen));
  } else if (!isValidBoundary(chosen) || containsDelimiter(parts, chosen)) {
    throw invalid(`boundary ${JSON.stringify(chosen)} is not valid or occurs in a part body`, 'boundary');
  }
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${chosen}\r\n${formatMimeHeaders(part.headers)}\r\n`, 'latin1'), part.body, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${chosen}--\r\n`, 'latin1'));
  const firstType = Object.entries(parts[0].headers).find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  const type = options.type ?? (firstType !== undefined ? parseContentType(firstType).mediaType : undefined);
  let contentType = `multipart/related; boundary=${formatParamValue(chosen)}`;
  if (type) contentType += `; type=${formatParamValue(type)}`;
  if (options.start) contentType += `; start=${formatParamValue(options.start)}`;
  return { contentType, boundary: chosen, body: Buffer.concat(chunks) };
}
