/**
 * The two chipset functions a stock kernel looks for on bus 0: an Intel 82441FX (440FX) host bridge,
 * which makes Linux's pci_sanity_check accept configuration mechanism #1, and an 82371SB (PIIX3)
 * PCI-to-ISA bridge, whose PIRQ route control registers (0x60-0x63) steer PIRQA..D to ISA IRQs and
 * which Linux's PIRQ code knows as an interrupt router.
 */

import { PciFunction } from './pci-function.js';

export const INTEL_VENDOR_ID = 0x8086;
export const I440FX_DEVICE_ID = 0x1237;
export const PIIX3_ISA_DEVICE_ID = 0x7000;
/** PIRQRC[A:D] (82371SB datasheet §2.2.7): bits 3:0 the IRQ, bit 7 set disables the route. */
export const PIIX3_PIRQ_ROUTE = 0x60;
export const PIRQ_DISABLED = 0x80;

export class I440fxHostBridge extends PciFunction {
  constructor() {
    super('i440fx', { vendorId: INTEL_VENDOR_ID, deviceId: I440FX_DEVICE_ID, classCode: 0x060000, revision: 0x02 });
    // Chipset registers (PAM, DRAM rows, the DLC bit Linux sets for passive release) are plain storage here.
    this.makeWritable(0x40, 0x100);
  }
}

export class Piix3IsaBridge extends PciFunction {
  /** Called after the guest changed a PIRQ route. */
  onRoutingChange: (() => void) | undefined;

  constructor(pirqIrqs: readonly number[]) {
    super('piix3', {
      vendorId: INTEL_VENDOR_ID,
      deviceId: PIIX3_ISA_DEVICE_ID,
      classCode: 0x060100,
    });
    this.makeWritable(0x40, 0x100);
    for (let link = 0; link < 4; link++) {
      const irq = pirqIrqs[link];
      this.config[PIIX3_PIRQ_ROUTE + link] =
        irq === undefined || !Number.isInteger(irq) || irq < 1 || irq > 15 ? PIRQ_DISABLED : irq;
    }
  }

  /** PIRQRC of link 0..3. */
  pirqRoute(link: number): number {
    return this.config[PIIX3_PIRQ_ROUTE + link];
  }

  override writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    super.writeConfig(offset, size, value);
    if (offset < PIIX3_PIRQ_ROUTE + 4 && offset + size > PIIX3_PIRQ_ROUTE) this.onRoutingChange?.();
  }
}
