/**
 * Writes PAP documents: the XML declaration, the DOCTYPE of the version in use (docs/standards.md §2.1)
 * and escaped elements — as element trees ({@link xmlElement}, for the rarely built hand-back and JSON
 * control entities) or as templates ({@link documentHead}, {@link xmlAttribute}, for the answers and
 * notifications built per push, see pap-builder.ts); both write the same bytes. The public identifiers of the 2.2/2.3 DTDs could not be confirmed, so those versions are
 * answered with the PAP 2.1 DOCTYPE, which every 2.x PI reads.
 */
import type { PapQualityOfService, PapVersion } from './pap-types.js';
import { escapeXmlAttribute } from './xml-escape.js';

const DOCTYPES: Record<PapVersion, string> = {
  '1.0': '"-//WAPFORUM//DTD PAP 1.0//EN" "http://www.wapforum.org/DTD/pap_1.0.dtd"',
  '2.0': '"-//WAPFORUM//DTD PAP 2.0//EN" "http://www.wapforum.org/DTD/pap_2.0.dtd"',
  '2.1': '"-//WAPFORUM//DTD PAP 2.1//EN" "http://www.openmobilealliance.org/tech/DTD/pap_2.1.dtd"',
  '2.2': '"-//WAPFORUM//DTD PAP 2.1//EN" "http://www.openmobilealliance.org/tech/DTD/pap_2.1.dtd"',
  '2.3': '"-//WAPFORUM//DTD PAP 2.1//EN" "http://www.openmobilealliance.org/tech/DTD/pap_2.1.dtd"',
};

/** The version answers use when the request's version is not known. */
export const DEFAULT_RESPONSE_VERSION: PapVersion = '2.0';

export type XmlAttributes = Record<string, string | number | boolean | undefined>;

/** `<name a="v" …/>` or `<name …>children</name>`, children indented by two spaces. */
export function xmlElement(name: string, attributes: XmlAttributes, children: string[] = []): string {
  const attrs = Object.entries(attributes)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([key, value]) => ` ${key}="${escapeXmlAttribute(String(value))}"`)
    .join('');
  if (children.length === 0) return `<${name}${attrs}/>`;
  const inner = children.map((child) => child.replace(/^/gm, '  ')).join('\n');
  return `<${name}${attrs}>\n${inner}\n</${name}>`;
}

/** A whole PAP document around one message element. */
export function papDocument(message: string, version: PapVersion = DEFAULT_RESPONSE_VERSION): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE pap PUBLIC ${DOCTYPES[version]}>\n${xmlElement('pap', {}, [message])}\n`;
}

const HEADS = Object.fromEntries(
  Object.entries(DOCTYPES).map(([version, doctype]) => [
    version,
    `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE pap PUBLIC ${doctype}>\n<pap>\n`,
  ]),
) as Record<PapVersion, string>;

/** Template start of a PAP document: declaration, DOCTYPE, `<pap>` and its line end. */
export function documentHead(version: PapVersion = DEFAULT_RESPONSE_VERSION): string {
  return HEADS[version];
}

/** Template end of a PAP document (after the message element, which is indented by two spaces). */
export const DOCUMENT_TAIL = '\n</pap>\n';

/** ` name="escaped value"`, or nothing for an absent value: one attribute of a template. */
export function xmlAttribute(name: string, value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  return ` ${name}="${typeof value === 'string' ? escapeXmlAttribute(value) : String(value)}"`;
}

/** PAP date-time (PAP 2.0 §9.2.1): `YYYY-MM-DDThh:mm:ssZ`, UTC, whole seconds. */
export function formatPapTime(date: Date): string {
  const iso = date.toISOString();
  // toISOString always ends in `.sssZ`; the fraction is dropped.
  return `${iso.slice(0, -5)}Z`;
}

/** `<quality-of-service>` from the typed QoS; `*-required` written only when the matching value is. */
export function qosElement(qos: PapQualityOfService): string {
  return (
    '<quality-of-service' +
    xmlAttribute('priority', qos.priority) +
    xmlAttribute('delivery-method', qos.deliveryMethod) +
    xmlAttribute('network', qos.network) +
    xmlAttribute('network-required', qos.network !== undefined ? qos.networkRequired : undefined) +
    xmlAttribute('bearer', qos.bearer) +
    xmlAttribute('bearer-required', qos.bearer !== undefined ? qos.bearerRequired : undefined) +
    '/>'
  );
}
