/**
 * Readers for the parts of a PIDF document (pure): tuples (RFC 3863 §4.1), persons and devices
 * (RFC 4479 §3.2–§3.4), RPID activities (RFC 4480 §6.1), RFC 5196 caps and the OMA Presence SIMPLE
 * elements (docs/standards.md §4.2). Matching is by namespace URI and local name, never by prefix.
 */
import { PidfNs } from './pidf-namespaces.js';
import type {
  ActiveTerminated,
  BasicStatus,
  NetworkAvailability,
  PresenceDevice,
  PresencePerson,
  PresenceTuple,
  ServiceCaps,
  ServiceDescription,
  SupportedSet,
} from '../capabilities/presence-snapshot.js';
import { childNamed, childrenNamed, descendants, type XmlElement } from '../lib/xml/xml-element-tree.js';

/** Collects tolerated oddities while reading. */
export type WarningSink = (warning: string) => void;

/** RFC 5196 §3.2 boolean media elements. */
const CAPS_MEDIA = ['application', 'audio', 'automata', 'control', 'data', 'message', 'text', 'video', 'isfocus'];

export function readBasic(el: XmlElement | undefined, where: string, warn: WarningSink): BasicStatus | undefined {
  if (el === undefined) return undefined;
  const value = el.text.toLowerCase();
  if (value === 'open' || value === 'closed') return value;
  warn(`${where}: <basic> has unknown value '${el.text.slice(0, 40)}'`);
  return undefined;
}

/** `<op:willingness><op:basic>open</op:basic></op:willingness>` style wrappers. */
function readOmaBasic(container: XmlElement | undefined, where: string, warn: WarningSink): BasicStatus | undefined {
  if (container === undefined) return undefined;
  return readBasic(childNamed(container, PidfNs.oma, 'basic'), where, warn);
}

/** OMA active|terminated as text (`<op:barring-state>active</op:barring-state>`) or as a child element. */
function readActiveTerminated(el: XmlElement | undefined, where: string, warn: WarningSink): ActiveTerminated | undefined {
  if (el === undefined) return undefined;
  const value = (el.text || el.children[0]?.local || '').toLowerCase();
  if (value === 'active' || value === 'terminated') return value;
  warn(`${where}: unknown state '${value.slice(0, 40)}'`);
  return undefined;
}

function notesOf(el: XmlElement): string[] {
  return [...childrenNamed(el, PidfNs.pidf, 'note'), ...childrenNamed(el, PidfNs.dataModel, 'note')]
    .map((n) => n.text)
    .filter((t) => t !== '');
}

function readSupportedSet(el: XmlElement | undefined, upperCase: boolean): SupportedSet {
  const names = (tag: string): string[] =>
    (el ? (childNamed(el, PidfNs.caps, tag)?.children ?? []) : []).map((c) => (upperCase ? c.local.toUpperCase() : c.local));
  return { supported: names('supported'), notsupported: names('notsupported') };
}

/** `<caps:servcaps>` (RFC 5196 §3.2). */
function readServiceCaps(el: XmlElement): ServiceCaps {
  const media: Record<string, boolean> = {};
  for (const name of CAPS_MEDIA) {
    const value = childNamed(el, PidfNs.caps, name)?.text.toLowerCase();
    if (value === 'true' || value === 'false') media[name] = value === 'true';
  }
  return {
    methods: readSupportedSet(childNamed(el, PidfNs.caps, 'methods'), true),
    eventPackages: readSupportedSet(childNamed(el, PidfNs.caps, 'event-packages'), false),
    media,
  };
}

function readServiceDescription(el: XmlElement, where: string, warn: WarningSink): ServiceDescription | undefined {
  const serviceId = childNamed(el, PidfNs.oma, 'service-id')?.text;
  if (!serviceId) {
    warn(`${where}: <service-description> without <service-id>`);
    return undefined;
  }
  const version = childNamed(el, PidfNs.oma, 'version')?.text || undefined;
  const description = childNamed(el, PidfNs.oma, 'description')?.text || undefined;
  return { serviceId, ...(version && { version }), ...(description && { description }) };
}

/** Reads one `<tuple>`; `index` names tuples that lack the required `id` (RFC 3863 §4.1.2). */
export function readTuple(el: XmlElement, index: number, warn: WarningSink): PresenceTuple {
  let id = el.attrs.id;
  if (!id) {
    id = `#${index}`;
    warn(`tuple ${index} has no id`);
  }
  const where = `tuple ${id}`;
  const status = childNamed(el, PidfNs.pidf, 'status');
  // Extension elements belong in the tuple; some clients put them in <status>: look in both.
  const scopes = status ? [el, status] : [el];
  const find = (ns: string, local: string): XmlElement | undefined =>
    scopes.map((s) => childNamed(s, ns, local)).find((e) => e !== undefined);
  const tuple: PresenceTuple = { id, pushApps: [], notes: notesOf(el) };
  const basic = status ? readBasic(childNamed(status, PidfNs.pidf, 'basic'), where, warn) : undefined;
  if (basic) tuple.basic = basic;
  const contact = childNamed(el, PidfNs.pidf, 'contact');
  if (contact?.text) tuple.contact = contact.text;
  if (contact?.attrs.priority !== undefined) {
    const priority = Number(contact.attrs.priority);
    if (Number.isFinite(priority) && priority >= 0 && priority <= 1) tuple.priority = priority;
    else warn(`${where}: contact priority '${contact.attrs.priority.slice(0, 20)}' is not in 0..1`);
  }
  const timestamp = childNamed(el, PidfNs.pidf, 'timestamp')?.text;
  if (timestamp) tuple.timestamp = timestamp;
  const serviceDescription = find(PidfNs.oma, 'service-description');
  const service = serviceDescription && readServiceDescription(serviceDescription, where, warn);
  if (service) tuple.service = service;
  const willingness = readOmaBasic(find(PidfNs.oma, 'willingness'), where, warn);
  if (willingness) tuple.willingness = willingness;
  const participation = readOmaBasic(find(PidfNs.oma, 'session-participation'), where, warn);
  if (participation) tuple.sessionParticipation = participation;
  const registration = readActiveTerminated(find(PidfNs.oma, 'registration-state'), where, warn);
  if (registration) tuple.registrationState = registration;
  const barring = readActiveTerminated(find(PidfNs.oma, 'barring-state'), where, warn);
  if (barring) tuple.barringState = barring;
  const servcaps = find(PidfNs.caps, 'servcaps');
  if (servcaps) tuple.caps = readServiceCaps(servcaps);
  const deviceId = find(PidfNs.dataModel, 'deviceID')?.text;
  if (deviceId) tuple.deviceId = deviceId;
  tuple.pushApps = readPushApps(el);
  return tuple;
}

/** Local convention for push app ids (see {@link PresenceTuple.pushApps}). */
function readPushApps(tuple: XmlElement): string[] {
  const apps = descendants(tuple, (e) => e.local === 'pusheventapp')
    .flatMap((e) => e.text.split(/[\s,]+/))
    .map((a) => a.replace(/^"|"$/g, ''))
    .filter((a) => a !== '');
  return [...new Set(apps)];
}

export function readPerson(el: XmlElement, index: number, warn: WarningSink): PresencePerson {
  const id = el.attrs.id || `#${index}`;
  const activitiesEl = childNamed(el, PidfNs.rpid, 'activities');
  const activities = (activitiesEl?.children ?? [])
    .filter((c) => c.ns === PidfNs.rpid && c.local !== 'note')
    .map((c) => (c.local === 'other' && c.text ? `other:${c.text}` : c.local));
  const person: PresencePerson = { id, activities, notes: notesOf(el) };
  const overriding = readOmaBasic(childNamed(el, PidfNs.oma, 'overriding-willingness'), `person ${id}`, warn);
  if (overriding) person.overridingWillingness = overriding;
  return person;
}

export function readDevice(el: XmlElement, index: number, warn: WarningSink): PresenceDevice {
  const id = el.attrs.id || `#${index}`;
  const networks: NetworkAvailability[] = [];
  for (const availability of childrenNamed(el, PidfNs.oma, 'network-availability')) {
    for (const network of childrenNamed(availability, PidfNs.oma, 'network')) {
      const state = network.children.find((c) => c.ns === PidfNs.oma && (c.local === 'active' || c.local === 'terminated'));
      if (network.attrs.id && state) networks.push({ id: network.attrs.id, state: state.local as ActiveTerminated });
      else warn(`device ${id}: <network> without id or state`);
    }
  }
  const mobility = childNamed(el, PidfNs.caps, 'devcaps');
  const device: PresenceDevice = {
    id,
    networks,
    mobility: readSupportedSet(mobility && childNamed(mobility, PidfNs.caps, 'mobility'), false).supported,
    notes: notesOf(el),
  };
  const deviceId = childNamed(el, PidfNs.dataModel, 'deviceID')?.text;
  if (deviceId) device.deviceId = deviceId;
  return device;
}
