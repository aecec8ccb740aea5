/**
 * Turns the bytes of a PAP control entity into a small element tree, safely: a size limit, a strict
 * charset decode, the prolog read by hand ({@link readXmlProlog}: no DTD fetched, no entity declared),
 * and the elements read in one pass ({@link scanElements}: well-formedness, depth and attribute limits,
 * attribute values decoded where only the five predefined entities and character references exist,
 * XML 1.0 §4.6; any other `&name;` is refused).
 */
import { AgentError, ErrorCodes } from '../../errors.js';
import type { PapVersion } from './pap-types.js';
import { detectPapVersion } from './pap-version.js';
import { readXmlProlog } from './xml-prolog.js';
import { type PapElement, scanElements } from './xml-scanner.js';

export type { PapElement } from './xml-scanner.js';

export interface PapDocument {
  root: PapElement;
  version: PapVersion;
}

/** 64 KiB: a push-message with hundreds of addresses fits; anything larger is not a PAP control entity. */
export const DEFAULT_MAX_CONTROL_BYTES = 64 * 1024;

function invalid(message: string, field: string): AgentError {
  return new AgentError(ErrorCodes.PAP_INVALID, message, field);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeText(body: Buffer, charset: string | undefined): string {
  const cs = (charset ?? '').toLowerCase();
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3);
  if (cs === 'iso-8859-1' || cs === 'latin1' || cs === 'us-ascii' || cs === 'ascii') return body.toString('latin1');
  if (cs !== '' && cs !== 'utf-8' && cs !== 'utf8') throw invalid(`charset ${JSON.stringify(charset)} is not supported`, 'charset');
  try {
    return UTF8.decode(body);
  } catch {
    throw invalid('control entity is not valid UTF-8', 'charset');
  }
}

/** Parses a control entity. PAP_INVALID for anything malformed or unsafe, PAP_VERSION for a version we lack. */
export function readPapDocument(body: Buffer, charset?: string, maxBytes = DEFAULT_MAX_CONTROL_BYTES): PapDocument {
  if (body.length > maxBytes) throw invalid(`control entity larger than ${maxBytes} bytes`, 'control-entity');
  const text = decodeText(body, charset);
  const prolog = readXmlProlog(text);
  if (/<!(DOCTYPE|ENTITY)/i.test(text.slice(prolog.rootStart))) throw invalid('DOCTYPE or ENTITY after the prolog is refused', 'DOCTYPE');
  const root = scanElements(text, prolog.rootStart);
  if (root.name !== 'pap') throw invalid(`root element is <${root.name}>, not <pap>`, 'pap');
  if (prolog.doctype && prolog.doctype.name !== 'pap') throw invalid(`DOCTYPE names <${prolog.doctype.name}>, not <pap>`, 'DOCTYPE');
  return { root, version: detectPapVersion(prolog) };
}
