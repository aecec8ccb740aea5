import { MemoryCapabilityStore } from '../../src/capabilities/memory-capability-store.js';
import { describeCapabilityStoreContract } from '../contract/capability-store.contract.js';

describeCapabilityStoreContract('in-process LRU', ({ capacity, now }) => new MemoryCapabilityStore({ capacity, now }));
