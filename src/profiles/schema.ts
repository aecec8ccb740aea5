/**
 * The sip-profile schema: how the agent talks to one kind of SIP core (identity, outbound proxy, MESSAGE
 * form, what presence counts as push-capable, hand-back defaults, addressing). A profile is YAML or JSON
 * in `sip-profiles/`; `loadProfile()` validates it with this schema and a bad profile stops start-up
 * with one line naming the field. Every level is strict: a misspelt key is an error, never ignored.
 */
import { z } from 'zod';

const transport = z.enum(['udp', 'tcp']);

/** Headers a profile may not set: the engine owns them, or RFC 3428 §4 forbids them (Contact). */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'via',
  'call-id',
  'cseq',
  'content-length',
  'contact',
  'from',
  'to',
  'content-type',
  'max-forwards',
  'i',
  'l',
  'm',
  'f',
  't',
  'c',
  'v',
]);

/** RFC 3261 §25.1: a header name is a `token`; the engine and the builder own some names. */
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9.!%*_+`'~-]+$/, "header name must be an RFC 3261 token (letters, digits, - . ! % * _ + ` ' ~)")
  .refine(
    (name) => !RESERVED_HEADERS.has(name.toLowerCase()),
    'header is set by the agent itself (Via, From, To, Call-ID, CSeq, Contact, Content-Type, Content-Length, Max-Forwards)',
  );

/** One line of printable text: a CR or LF would inject headers (RFC 3261 §7.3.1 has no folding here). */
const headerValue = z.string().regex(/^[^\r\n\0]*$/, 'header value must be one line (no CR, LF or NUL)');

export const hopSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(5060),
  transport: transport.default('udp'),
});

export const profileSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().optional(),
    identity: z.strictObject({
      /** From URI of every request the agent sends. */
      uri: z.string().regex(/^sips?:/, 'must be a sip: or sips: URI'),
      displayName: z.string().optional(),
      /** P-Asserted-Identity (RFC 3325) on MESSAGE; IMS cores expect it from a trusted AS. */
      assertedIdentity: z.string().optional(),
    }),
    /** Where requests go; unset = straight to the Request-URI host. */
    outboundProxy: hopSchema.optional(),
    message: z
      .strictObject({
        /** Bytes above which a MESSAGE needs a congestion-controlled transport (RFC 3428 §9: 1300). */
        sizeThreshold: z.number().int().min(200).max(65535).default(1300),
        /** Above the threshold: send over TCP, or hand back to the PPG. */
        largeMessage: z.enum(['tcp', 'hand-back']).default('tcp'),
        /** Add `P-Asserted-Identity` (identity.assertedIdentity, else identity.uri). */
        pAssertedIdentity: z.boolean().default(false),
        /** `Accept-Contact: *;+g.oma.pusheventapp="<app>"` (OMA-TS-SIP_Push §5.2.2). */
        acceptContact: z.boolean().default(true),
        /** Append `;require;explicit` (RFC 3841 §9.2) to Accept-Contact. */
        requireExplicit: z.boolean().default(false),
        /** Extra static headers put on every MESSAGE; checked here so a bad one stops start-up, not every push. */
        extraHeaders: z.record(headerName, headerValue).default({}),
      })
      .prefault({}),
    presence: z
      .strictObject({
        enabled: z.boolean().default(true),
        event: z.string().default('presence'),
        accept: z.array(z.string()).default(['application/pidf+xml']),
        expiresSeconds: z.number().int().min(60).max(86400).default(3600),
        /** How long a push for a user not yet known waits for the first NOTIFY. */
        firstNotifyWaitMs: z.number().int().min(0).max(30000).default(1500),
        /**
         * OMA service-ids that count as push-capable. OMA registered none for Push (docs/standards.md),
         * so this is the operator's choice; empty = only caps/basic decide.
         */
        pushServiceIds: z.array(z.string()).default([]),
        /** Whether a tuple with `basic=open` and no service-description is enough to try SIP. */
        basicOpenIsEnough: z.boolean().default(true),
        /** What a user with no usable presence (nothing published, no NOTIFY in time) gets. */
        whenUnknown: z.enum(['try-sip', 'hand-back']).default('try-sip'),
      })
      .prefault({}),
    /**
     * Where the agent learns about users: `presence` (Event: presence, PIDF), `reg` (Event: reg, RFC 3680
     * registration state), or both. docs/architecture.md "Capability sources" says which suits which core.
     */
    sources: z
      .array(z.enum(['presence', 'reg']))
      .min(1)
      .refine((list) => new Set(list).size === list.length, 'must not repeat a source')
      .default(['presence']),
    registration: z
      .strictObject({
        event: z.string().default('reg'),
        accept: z.array(z.string()).default(['application/reginfo+xml']),
        expiresSeconds: z.number().int().min(60).max(86400).default(3600),
        /** How long a push for a user not yet known waits for the first reg NOTIFY. */
        firstNotifyWaitMs: z.number().int().min(0).max(30000).default(1500),
        /** The Contact feature tag naming the push applications a device accepts (OMA SIP Push §5.2.2). */
        pushAppTag: z.string().min(1).default('+g.oma.pusheventapp'),
        /**
         * Whether a bound contact without the push tag is enough to try SIP. Needed when the registrar does
         * not report feature tags (Kamailio 5.6's pua_reginfo does not).
         */
        registrationIsEnough: z.boolean().default(false),
      })
      .prefault({}),
    capabilities: z
      .strictObject({
        /** Delivery failures (404/408/480/timeout) mark the user unreachable for this long. */
        holdDownSeconds: z.number().int().min(0).max(86400).default(300),
        /** Presence is a hint: entries older than this are re-evaluated as unknown. */
        ttlSeconds: z.number().int().min(1).max(86400).default(3600),
      })
      .prefault({}),
    delivery: z
      .strictObject({
        /**
         * A MESSAGE whose final answer was never seen (Timer F, a 408, transport lost after sending, a
         * failure answer to a copy re-sent after a crash) may have reached the handset. `hand-back`:
         * hand it back anyway (the user may get it twice, over SIP and the other bearer). `report`: end
         * the push `unconfirmed` and tell the PI (PAP message-state `unknown`); the PI decides.
         */
        whenUnconfirmed: z.enum(['hand-back', 'report']).default('hand-back'),
      })
      .prefault({}),
    handBack: z
      .strictObject({
        /** The bearer hint when presence says nothing better (vocabulary: docs/architecture.md). */
        defaultBearer: z.string().default('SMS'),
      })
      .prefault({}),
    addressing: z.strictObject({
      /** Home domain for PLMN numbers and bare user names. */
      homeDomain: z.string().min(1),
      /** TYPE=PLMN numbers become `sip:+N@domain;user=phone` or `tel:+N`. */
      plmnForm: z.enum(['sip-user-phone', 'tel']).default('sip-user-phone'),
      /** Country code prepended to national PLMN numbers that lack a leading '+'. */
      defaultCountryCode: z
        .string()
        .regex(/^\d{1,3}$/)
        .optional(),
    }),
  })
  .strict();

export type SipProfile = z.infer<typeof profileSchema>;
export type SipHop = z.infer<typeof hopSchema>;
