//! Structured control flow: blocks, loops, ifs, branches (`br_on_null` and
//! `br_on_non_null` among them) and returns.
//!
//! Each open construct is a [`ControlFrame`]. Branches to a block or an `if` go to its
//! `destination` (the code after `end`, with the results as block parameters); branches to
//! a loop go to its header (with the loop's parameters). Code after an unconditional
//! transfer is unreachable: its operators are skipped, but nested constructs still push
//! "dead" frames so that `else` and `end` are matched correctly.
//!
//! Branch hints (`metadata.code.branch_hint`) mark the unlikely successor of a hinted `if`
//! or `br_if` as a Cranelift cold block, which the backend places after all other code:
//! the likely path falls through and stays dense in the cache. An `if` hinted not taken
//! gets a cold `then` arm, one hinted taken a cold `else` arm; a `br_if` hinted taken
//! makes the code after it cold.

use super::exceptions::LegacyTry;
use super::{block_args, FuncTranslator};
use crate::abi::ir_type;
use crate::error::Result;
use cranelift_codegen::ir::{Block, BlockCall, Inst, InstBuilder, JumpTableData, Type, Value};
use kiln_abi::TrapCode;
use std::collections::HashMap;
use wasmparser::BlockType;

/// What kind of construct a frame is.
pub(crate) enum FrameKind {
    /// `block` (and the function body).
    Block,
    /// `loop`, with the header block branches go to.
    Loop { header: Block },
    /// `if`, with where its `else` arm starts and the parameters both arms receive.
    If {
        else_arm: ElseArm,
        params: Vec<Value>,
        /// A branch hint says the condition is likely true: the else arm is cold.
        cold_else: bool,
    },
    /// `try_table`: a block whose calls and throws go to its handler scope
    /// (`exceptions.rs`), whose catch clauses are compiled at `end`.
    TryTable { catches: Vec<wasmparser::Catch> },
    /// A legacy `try` (`exceptions.rs`).
    Try(super::exceptions::LegacyTry),
}

/// Where the false edge of an `if` goes.
pub(crate) enum ElseArm {
    /// Straight to the frame's `destination`, passing the parameters on as results (the
    /// `if`'s parameter and result types are the same). No block is made for an `else`
    /// that may never come, so an `if` without one is a single conditional branch, not a
    /// branch to an empty block that jumps on; an `else` retargets this branch.
    Pending(Inst),
    /// A block of its own, made up front because the types differ (so an `else` follows).
    Block(Block),
    /// The `else` arm has started.
    Seen,
}

/// An open block, loop or if.
pub(crate) struct ControlFrame {
    /// What construct this is.
    pub kind: FrameKind,
    /// Where execution continues after `end`; takes the results as parameters.
    pub destination: Block,
    /// Number of parameters of the block type.
    pub n_params: usize,
    /// Number of results of the block type.
    pub n_results: usize,
    /// Height of the value stack below the parameters when the frame opened.
    pub stack_height: usize,
    /// Whether some branch or fallthrough reaches `destination`.
    pub branched_to: bool,
    /// Opened in unreachable code: nothing about it is translated.
    pub dead: bool,
}

impl FuncTranslator<'_, '_> {
    /// Parameter and result types of a block type.
    pub(super) fn block_signature(&self, block_type: BlockType) -> Result<(Vec<Type>, Vec<Type>)> {
        Ok(match block_type {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(ty) => (
                vec![],
                vec![ir_type(crate::module_info::val_type(ty, self.offset)?)],
            ),
            BlockType::FuncType(index) => {
                let ty = &self.env.info.metadata.types[index as usize];
                (
                    ty.params.iter().map(|t| ir_type(*t)).collect(),
                    ty.results.iter().map(|t| ir_type(*t)).collect(),
                )
            }
        })
    }

    fn create_block_with_params(&mut self, params: &[Type]) -> Block {
        let block = self.builder.create_block();
        for ty in params {
            self.builder.append_block_param(block, *ty);
        }
        block
    }

    pub(super) fn push_dead_frame(&mut self) {
        let destination = self.builder.create_block();
        self.control.push(ControlFrame {
            kind: FrameKind::Block,
            destination,
            n_params: 0,
            n_results: 0,
            stack_height: self.stack.len(),
            branched_to: false,
            dead: true,
        });
    }

    pub(super) fn translate_unreachable(&mut self) {
        self.trap(TrapCode::Unreachable);
        self.reachable = false;
    }

    pub(super) fn translate_block(&mut self, block_type: BlockType) -> Result<()> {
        let (params, results) = self.block_signature(block_type)?;
        let destination = self.create_block_with_params(&results);
        self.control.push(ControlFrame {
            kind: FrameKind::Block,
            destination,
            n_params: params.len(),
            n_results: results.len(),
            stack_height: self.stack.len() - params.len(),
            branched_to: false,
            dead: false,
        });
        Ok(())
    }

    pub(super) fn translate_loop(&mut self, block_type: BlockType) -> Result<()> {
        let (params, results) = self.block_signature(block_type)?;
        let header = self.create_block_with_params(&params);
        let destination = self.create_block_with_params(&results);
        let args = self.pop_n(params.len());
        self.load_memory_bounds_before_loop();
        self.jump(header, &args);
        self.builder.switch_to_block(header);
        // The parameters first: the fuel check reads the fuel variable, and in a block not
        // yet sealed cranelift-frontend gives it a block parameter of its own, after these.
        let header_params = self.builder.block_params(header).to_vec();
        self.check_limits();
        let stack_height = self.stack.len();
        self.stack.extend(header_params);
        self.control.push(ControlFrame {
            kind: FrameKind::Loop { header },
            destination,
            n_params: params.len(),
            n_results: results.len(),
            stack_height,
            branched_to: false,
            dead: false,
        });
        Ok(())
    }

    pub(super) fn translate_if(&mut self, block_type: BlockType) -> Result<()> {
        let hint = self.branch_hint();
        let (params, results) = self.block_signature(block_type)?;
        let condition = self.pop();
        let then_block = self.builder.create_block();
        if hint == Some(false) {
            self.builder.set_cold_block(then_block);
        }
        let destination = self.create_block_with_params(&results);
        // The parameters dominate both arms, so the else arm starts from the same values.
        let if_params = self.peek_n(params.len()).to_vec();
        let else_arm = if params == results {
            let branch = self.builder.ins().brif(
                condition,
                then_block,
                &[],
                destination,
                &block_args(&if_params),
            );
            ElseArm::Pending(branch)
        } else {
            let else_block = self.builder.create_block();
            if hint == Some(true) {
                self.builder.set_cold_block(else_block);
            }
            self.builder
                .ins()
                .brif(condition, then_block, &[], else_block, &[]);
            ElseArm::Block(else_block)
        };
        self.builder.switch_to_block(then_block);
        self.builder.seal_block(then_block);
        self.control.push(ControlFrame {
            kind: FrameKind::If {
                else_arm,
                params: if_params,
                cold_else: hint == Some(true),
            },
            destination,
            n_params: params.len(),
            n_results: results.len(),
            stack_height: self.stack.len() - params.len(),
            branched_to: false,
            dead: false,
        });
        Ok(())
    }

    pub(super) fn translate_else(&mut self) {
        let reachable = self.reachable;
        let frame = self.control.last_mut().expect("validated: else inside if");
        if frame.dead {
            return;
        }
        let FrameKind::If {
            else_arm,
            params,
            cold_else,
        } = &mut frame.kind
        else {
            unreachable!("validated: else closes an if")
        };
        let else_arm = std::mem::replace(else_arm, ElseArm::Seen);
        let cold_else = *cold_else;
        let params = params.clone();
        let destination = frame.destination;
        let (n_results, stack_height) = (frame.n_results, frame.stack_height);
        if reachable {
            frame.branched_to = true;
            let results = self.peek_n(n_results).to_vec();
            self.jump(destination, &results);
        }
        self.stack.truncate(stack_height);
        let else_block = match else_arm {
            ElseArm::Pending(branch) => {
                // The false edge still carries the parameters: the new block takes them.
                let types: Vec<Type> = params
                    .iter()
                    .map(|value| self.builder.func.dfg.value_type(*value))
                    .collect();
                let else_block = self.create_block_with_params(&types);
                if cold_else {
                    self.builder.set_cold_block(else_block);
                }
                self.builder
                    .change_jump_destination(branch, destination, else_block);
                self.stack
                    .extend_from_slice(self.builder.block_params(else_block));
                else_block
            }
            ElseArm::Block(else_block) => {
                self.stack.extend(params);
                else_block
            }
            ElseArm::Seen => unreachable!("validated: one else per if"),
        };
        self.builder.switch_to_block(else_block);
        self.builder.seal_block(else_block);
        self.reachable = true;
    }

    pub(super) fn translate_end(&mut self) {
        let mut frame = self.control.pop().expect("validated: end closes a frame");
        if frame.dead {
            return;
        }
        if self.reachable {
            let results = self.peek_n(frame.n_results).to_vec();
            // The end of a legacy catch clause: done with its exception.
            if let FrameKind::Try(LegacyTry::Catching { exception, .. }) = frame.kind {
                self.release_exception(exception);
            }
            self.jump(frame.destination, &results);
            frame.branched_to = true;
        }
        match frame.kind {
            // An `if` without `else`: the missing arm passes its parameters through, on
            // the false edge itself or from the else block.
            FrameKind::If {
                else_arm: ElseArm::Pending(_),
                ..
            } => frame.branched_to = true,
            FrameKind::If {
                else_arm: ElseArm::Block(else_block),
                params,
                ..
            } => {
                self.builder.switch_to_block(else_block);
                self.builder.seal_block(else_block);
                self.jump(frame.destination, &params);
                frame.branched_to = true;
            }
            FrameKind::Loop { header } => self.builder.seal_block(header),
            FrameKind::TryTable { catches } => self.end_try_table(&catches),
            FrameKind::Try(state) => self.end_legacy_try(state),
            FrameKind::Block | FrameKind::If { .. } => {}
        }
        self.stack.truncate(frame.stack_height);
        if frame.branched_to {
            self.builder.switch_to_block(frame.destination);
            self.builder.seal_block(frame.destination);
            let results = self.builder.block_params(frame.destination).to_vec();
            self.stack.extend(results);
            self.reachable = true;
        } else {
            self.reachable = false;
        }
        if self.control.is_empty() && self.reachable {
            let results = std::mem::take(&mut self.stack);
            self.save_fuel();
            self.builder.ins().return_(&results);
            self.reachable = false;
        }
    }

    /// The block a branch of `relative_depth` goes to and how many values it carries;
    /// marks the frame as branched to.
    pub(super) fn branch_target(&mut self, relative_depth: u32) -> (Block, usize) {
        let index = self.control.len() - 1 - relative_depth as usize;
        let frame = &mut self.control[index];
        match frame.kind {
            FrameKind::Loop { header } => (header, frame.n_params),
            _ => {
                frame.branched_to = true;
                (frame.destination, frame.n_results)
            }
        }
    }

    pub(super) fn translate_br(&mut self, relative_depth: u32) {
        let (target, arity) = self.branch_target(relative_depth);
        let args = self.peek_n(arity).to_vec();
        self.jump(target, &args);
        self.reachable = false;
    }

    pub(super) fn translate_br_if(&mut self, relative_depth: u32) {
        let hint = self.branch_hint();
        let condition = self.pop();
        let (target, arity) = self.branch_target(relative_depth);
        let args = block_args(self.peek_n(arity));
        let next = self.builder.create_block();
        // Hinted taken, the code after the branch is cold. (Hinted not taken, nothing is:
        // the code after it already follows it, and the target, a block's end or a loop's
        // header, is reached by other paths too.)
        if hint == Some(true) {
            self.builder.set_cold_block(next);
        }
        self.builder.ins().brif(condition, target, &args, next, &[]);
        self.builder.switch_to_block(next);
        self.builder.seal_block(next);
    }

    /// The branch hint of the instruction being translated (`metadata.code.branch_hint`):
    /// whether an `if` or `br_if` is likely taken, if the module says.
    fn branch_hint(&self) -> Option<bool> {
        self.branch_hints.get(&self.offset).copied()
    }

    /// `br_on_null`: branches with the values below the reference when it is null, and
    /// goes on with the reference, non-null now, otherwise.
    pub(super) fn translate_br_on_null(&mut self, relative_depth: u32) {
        let reference = self.pop();
        let (target, arity) = self.branch_target(relative_depth);
        let args = block_args(self.peek_n(arity));
        let next = self.builder.create_block();
        self.builder.ins().brif(reference, next, &[], target, &args);
        self.builder.switch_to_block(next);
        self.builder.seal_block(next);
        self.push(reference);
    }

    /// `br_on_non_null`: branches with the values and the reference (the label's last
    /// value) when it is not null, and goes on without it otherwise.
    pub(super) fn translate_br_on_non_null(&mut self, relative_depth: u32) {
        let (target, arity) = self.branch_target(relative_depth);
        let args = block_args(self.peek_n(arity));
        let reference = self.pop();
        let next = self.builder.create_block();
        self.builder.ins().brif(reference, target, &args, next, &[]);
        self.builder.switch_to_block(next);
        self.builder.seal_block(next);
    }

    pub(super) fn translate_br_table(&mut self, table: wasmparser::BrTable<'_>) -> Result<()> {
        let index = self.pop();
        let depths = table.targets().collect::<Result<Vec<u32>, _>>()?;
        let default_depth = table.default();
        let (_, arity) = self.branch_target(default_depth);
        let args = self.peek_n(arity).to_vec();
        // With arguments, each distinct target gets a small block that jumps with them.
        let mut edge_blocks: HashMap<u32, Block> = HashMap::new();
        let mut edges = Vec::new();
        for depth in depths.iter().chain(std::iter::once(&default_depth)) {
            let (target, _) = self.branch_target(*depth);
            let block = if arity == 0 {
                target
            } else {
                *edge_blocks
                    .entry(*depth)
                    .or_insert_with(|| self.builder.create_block())
            };
            edges.push(block);
        }
        let pool = &mut self.builder.func.dfg.value_lists;
        let calls: Vec<BlockCall> = edges
            .iter()
            .map(|block| BlockCall::new(*block, [], pool))
            .collect();
        let (default, table_calls) = calls.split_last().expect("the default edge is present");
        let jump_table = self
            .builder
            .create_jump_table(JumpTableData::new(*default, table_calls));
        self.builder.ins().br_table(index, jump_table);
        let mut edge_blocks: Vec<(u32, Block)> = edge_blocks.into_iter().collect();
        edge_blocks.sort_by_key(|(depth, _)| *depth);
        for (depth, block) in edge_blocks {
            let (target, _) = self.branch_target(depth);
            self.builder.switch_to_block(block);
            self.builder.seal_block(block);
            self.jump(target, &args);
        }
        self.reachable = false;
        Ok(())
    }

    pub(super) fn translate_return(&mut self) {
        let arity = self.control[0].n_results;
        let results = self.peek_n(arity).to_vec();
        self.save_fuel();
        self.builder.ins().return_(&results);
        self.reachable = false;
    }
}
