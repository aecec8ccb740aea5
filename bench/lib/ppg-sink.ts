/**
 * The PPG stand-in for benchmarks: records when each hand-back (`/handback`) and result notification
 * (`/notify`) for a push-id arrived, with the notification's message-state. Keep-alive HTTP on loopback.
 */
import { createServer, type Server } from 'node:http';

export interface SinkReceipt {
  atMs: number;
  path: string;
  messageState?: string;
}

export class PpgSink {
  readonly receipts = new Map<string, SinkReceipt>();
  private server?: Server;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const atMs = performance.now();
        const text = Buffer.concat(chunks).toString('latin1');
        const pushId = /push-id="([^"]+)"/.exec(text)?.[1];
        if (pushId !== undefined && !this.receipts.has(pushId)) {
          this.receipts.set(pushId, { atMs, path: req.url ?? '', messageState: /message-state="([a-z-]+)"/.exec(text)?.[1] });
        }
        res.writeHead(200, { 'content-type': 'application/xml' }).end('<pap/>');
      });
    });
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
