// Status badges: colour and text together (the colour is never the only signal).
import { h } from './dom.js';
import { AML_LABELS, AML_TONES, KYC_LABELS, KYC_TONES } from './statuses.js';
import type { AmlStatus, KycStatus } from './types.js';

export function kycBadge(status: KycStatus): HTMLSpanElement {
  return h('span', { class: `badge tone-${KYC_TONES[status]}`, 'data-status': status }, KYC_LABELS[status]);
}

export function amlBadge(status: AmlStatus): HTMLSpanElement {
  return h('span', { class: `badge tone-${AML_TONES[status]}`, 'data-status': status }, AML_LABELS[status]);
}
