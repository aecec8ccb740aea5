/**
 * The PPG stand-in for benchmarks: the tests' {@link PpgStandIn} without the list of every POST, indexed
 * instead by push-id: when the first hand-back (`/handback`) or result notification (`/notify`) for a
 * push arrived, with the notification's message-state.
 */
import { PpgStandIn, type RecordedPost } from '../../test/support/agent-under-test.js';

export interface SinkReceipt {
  atMs: number;
  path: string;
  messageState?: string;
}

export class PpgSink extends PpgStandIn {
  readonly receipts = new Map<string, SinkReceipt>();

  constructor() {
    super();
    this.retainPosts = false;
    this.onPost = (post) => this.record(post);
  }

  private record(post: RecordedPost): void {
    const text = post.body.toString('latin1');
    const pushId = /push-id="([^"]+)"/.exec(text)?.[1];
    if (pushId !== undefined && !this.receipts.has(pushId)) {
      this.receipts.set(pushId, { atMs: post.atMs, path: post.path, messageState: /message-state="([a-z-]+)"/.exec(text)?.[1] });
    }
  }
}
