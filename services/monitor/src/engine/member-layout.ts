/**
 * How a page function (region.ts) passes control from member to member: nested, or through one
 * dispatch loop.
 *
 * Nested, the members are laid out as the guest's own control flow: each loop of the members' graph a
 * JavaScript loop, every other jump a `break` forward out of a labelled block, each member's code
 * once. V8 then sees the guest's loops as loops and a forward jump as a jump, where a `switch` on the
 * member index inside one loop made every passage from member to member an indirect jump and every
 * local a phi at that loop's head. The members' graph has an edge from each member to the members its
 * last instruction names as where control goes next (a jump's target, a conditional jump's
 * fall-through). Its strongly connected components, in topological order, are the units of the
 * function's top level; a component with a cycle is a loop, whose header is the member most edges
 * from outside it enter. Inside a loop the edges into its header are its back edges; without them the
 * rest of the loop falls apart into units in the same way, nested loops included. So every edge goes
 * forward to a later unit of some level (`break` out of the labelled block that ends before that
 * unit), or back to the header of a loop around it (`continue` that loop). Control enters the
 * function at any member (where a caller or the lookup by EIP names it, `_k`), and a loop at any of
 * its members: a `switch` on `_k` at the top level breaks to the unit that holds the member (the
 * lookup, its default, breaks there itself); a loop starts each turn with a test that `_k` names its
 * header, and only when it does not, a `switch` to the unit inside. A jump into a loop (or back to
 * its header) sets `_k` first. Each jump tests the budget and `cpu.exitBlock` before it.
 *
 * Through one dispatch loop, each member is a case of a `switch` on `_k` in a loop, a jump sets `_k`
 * and leaves the `switch`, and the budget and `cpu.exitBlock` are tested once, at the loop's end.
 */

import { EXIT_REQUESTED } from './compile.js';

/**
 * The label of a page function's outer loop: `_k = -1; continue DISPATCH;` goes to the lookup of the
 * member at EIP (the default of its `switch` on `_k`).
 */
export const DISPATCH = 'dispatch';

/** The label of the top level's `switch` on `_k`, after which the first unit starts. */
const ENTRY = 'entry';

/**
 * The test before a nested jump from member to member, and at the dispatch loop's end: the function
 * returns when the budget is spent or the run loop must look.
 */
const LEAVE_IF_DUE = `if (_done >= budget || ${EXIT_REQUESTED}) return 0; `;

/** A unit of a level: a member, or a loop (its own level, the header first). */
type Unit = number | Level;

interface Level {
  readonly id: number;
  readonly loop: boolean;
  readonly units: Unit[];
}

/** Where a member is: the unit that holds it at each level, from the top. */
type Place = readonly { readonly level: Level; readonly index: number }[];

export class MemberLayout {
  private readonly top: Level;
  private readonly places: Place[];
  private levels = 0;

  /**
   * `successors[k]`: the members member k passes control to (its graph's edges). `nested`: laid out
   * as nested loops, else every member a case of the dispatch loop.
   */
  constructor(
    private readonly successors: readonly (readonly number[])[],
    private readonly nested = true,
  ) {
    const all = successors.map((_, k) => k);
    this.top = nested ? this.level(all, -1, false) : { id: this.levels++, loop: false, units: all };
    this.places = all.map(() => []);
    this.place(this.top, []);
    this.due = nested ? LEAVE_IF_DUE : '';
    this.toLookup = nested ? `_k = -1; continue ${DISPATCH};` : '_k = -1; break;';
  }

  /** What a member's code tests before a jump (this.jump): nothing where the dispatch loop tests. */
  readonly due: string;

  /** Code that goes to the lookup of the member at EIP, after `due`. */
  readonly toLookup: string;

  /**
   * The function's body: the members (`member(k)` for member k's code, which must end in a jump:
   * `due` and this.jump, `due` and `toLookup`, or a `return`) behind the dispatch on `_k`, whose
   * default is `lookup(enter)`: code that finds the member at EIP and goes into member k with
   * `enter(k)`, or returns.
   */
  code(member: (k: number) => string, lookup: (enter: (k: number) => string) => string): string {
    if (!this.nested) {
      const cases = this.top.units.map((k) => `case ${k as number}: {\n${member(k as number)}}\n`).join('');
      const enter = (k: number): string => `_k = ${k}; continue ${DISPATCH};`;
      return `${DISPATCH}: for (;;) {\nswitch (_k) {\n${cases}default:\n${lookup(enter)}}\n${LEAVE_IF_DUE}\n}`;
    }
    // The lookup is in the top level's dispatch and breaks to the member's unit itself.
    const enter = (k: number): string =>
      this.breakTo(this.top, ((this.places[k] as Place)[0] as Place[number]).index, k);
    return `${DISPATCH}: for (;;) {\n${this.unitsCode(this.top, member, lookup(enter))}}`;
  }

  /** Code that passes control from member `from` to member `to`, after `due`. */
  jump(from: number, to: number): string {
    if (!this.nested) return `_k = ${to}; break;`;
    const pf = this.places[from] as Place;
    const pt = this.places[to] as Place;
    let p = 0;
    while (p < pf.length && p < pt.length && pf[p]?.level === pt[p]?.level && pf[p]?.index === pt[p]?.index) p++;
    if (p === pt.length) {
      // A member that jumps to itself is the header of a loop of its own.
      const header = pt[p - 1] as Place[number];
      return `_k = ${to}; continue l${header.level.id};`;
    }
    const { level, index } = pt[p] as Place[number];
    const fromIndex = (pf[p] as Place[number]).index;
    if (index > fromIndex) return this.breakTo(level, index, to);
    if (index === 0 && level.loop) return `_k = ${to}; continue l${level.id};`;
    // Not a layout this class makes (every edge goes forward or back to a loop's header).
    return `_k = ${to}; continue ${DISPATCH};`;
  }

  /** Loops of the layout, for tests: the members of each, the header first, outer loops first. */
  loops(): number[][] {
    const out: number[][] = [];
    const walk = (level: Level): void => {
      if (level.loop) out.push(members(level));
      for (const unit of level.units) if (typeof unit !== 'number') walk(unit);
    };
    walk(this.top);
    return out;
  }

  /**
   * Code that goes into member `k` from before unit `index` of `level`, which holds it: a break out of
   * the labelled block that ends there (the top level's `switch` before its first unit), setting `_k`
   * for a loop's dispatch.
   */
  private breakTo(level: Level, index: number, k: number): string {
    const unit = level.units[index] as Unit;
    const label = index === 0 ? ENTRY : `b${level.id}_${index}`;
    return `${typeof unit === 'number' ? '' : `_k = ${k}; `}break ${label};`;
  }

  /**
   * The units of the graph on `nodes` without the edges into `header` (-1: none): its strongly
   * connected components in topological order, those with a cycle as loops.
   */
  private level(nodes: readonly number[], header: number, loop: boolean): Level {
    const id = this.levels++;
    const inside = new Set(nodes);
    const edges = (k: number): number[] =>
      (this.successors[k] as readonly number[]).filter((t) => t !== header && inside.has(t));
    const units = components(nodes, edges).map((component): Unit => {
      const first = component[0] as number;
      if (component.length === 1 && !edges(first).includes(first)) return first;
      return this.level(component, this.header(component), true);
    });
    return { id, loop, units };
  }

  /** The member of a loop that most edges from outside it enter; the first of those in its order. */
  private header(component: readonly number[]): number {
    const inLoop = new Set(component);
    const entries = new Map(component.map((k) => [k, 0]));
    this.successors.forEach((targets, from) => {
      if (inLoop.has(from)) return;
      for (const t of targets) if (inLoop.has(t)) entries.set(t, (entries.get(t) as number) + 1);
    });
    let best = component[0] as number;
    for (const k of component) if ((entries.get(k) as number) > (entries.get(best) as number)) best = k;
    return best;
  }

  private place(level: Level, outer: Place): void {
    level.units.forEach((unit, index) => {
      const here = [...outer, { level, index }];
      if (typeof unit === 'number') this.places[unit] = here;
      else this.place(unit, here);
    });
  }

  /**
   * The units of a level, each but the first after the end of a labelled block that a jump to it
   * breaks out of, after a `switch` on `_k` to the unit that holds the member it names: at the top
   * level with `lookup` as its default (the loop around it then starts again), in a loop only when
   * `_k` does not name the header, at the start of each turn.
   */
  private unitsCode(level: Level, member: (k: number) => string, lookup: string): string {
    const units = level.units;
    let code = '';
    for (let i = units.length - 1; i >= 1; i--) code += `b${level.id}_${i}: {\n`;
    const cases = units.map((unit, i) => {
      if (i === 0 && level.loop) return '';
      const labels = (typeof unit === 'number' ? [unit] : members(unit)).map((k) => `case ${k}:`).join(' ');
      return `${labels} break${i === 0 ? '' : ` b${level.id}_${i}`};\n`;
    });
    const table = `switch (_k) {\n${cases.join('')}default: ${lookup}}\n`;
    if (!level.loop) code += `${ENTRY}: ${table}`;
    else if (units.length > 1) code += `if (_k !== ${units[0] as number}) ${table}`;
    units.forEach((unit, i) => {
      if (i > 0) code += '}\n';
      code +=
        typeof unit === 'number'
          ? `{\n${member(unit)}}\n`
          : `l${unit.id}: for (;;) {\n${this.unitsCode(unit, member, `${this.toLookup}\n`)}}\n`;
    });
    return code;
  }
}

/** The members of a level, its first unit's first. */
function members(level: Level): number[] {
  return level.units.flatMap((unit) => (typeof unit === 'number' ? [unit] : members(unit)));
}

/**
 * The strongly connected components of the graph on `nodes` with `edges`, in topological order (a
 * component before every one its edges reach), each with its nodes in the order of `nodes`.
 */
function components(nodes: readonly number[], edges: (k: number) => readonly number[]): number[][] {
  const order = new Map<number, number>();
  const low = new Map<number, number>();
  const stack: number[] = [];
  const onStack = new Set<number>();
  const found: number[][] = [];
  const visit = (v: number): void => {
    order.set(v, order.size);
    low.set(v, order.get(v) as number);
    stack.push(v);
    onStack.add(v);
    for (const w of edges(v)) {
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, order.get(w) as number));
    }
    if (low.get(v) === order.get(v)) {
      const component: number[] = [];
      let w: number;
      do {
        w = stack.pop() as number;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      found.push(component);
    }
  };
  for (const v of nodes) if (!order.has(v)) visit(v);
  // Tarjan's algorithm finds a component after every one it reaches.
  const rank = new Map(nodes.map((v, i) => [v, i]));
  return found.reverse().map((c) => c.sort((a, b) => (rank.get(a) as number) - (rank.get(b) as number)));
}
