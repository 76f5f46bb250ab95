//! An RFC 6962 tree's root from its leaf hashes, one at a time, in
//! memory of the tree's height: for comparing a log kept elsewhere (the
//! coordinator's PostgreSQL store keeps each entry's leaf hash) without
//! reading its entries. [`crate::MemoryTree`] keeps every stored hash
//! instead, for proofs.

use crate::{EMPTY_ROOT, Hash, node_hash};

/// The roots of the perfect subtrees so far, largest first, with their
/// sizes (each a power of two, strictly decreasing).
#[derive(Default)]
pub struct RootBuilder {
    subtrees: Vec<(Hash, u64)>,
}

impl RootBuilder {
    /// Adds the next leaf.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (leaf, 1);
        while let Some(&(left, size)) = self.subtrees.last() {
            if size != node.1 {
                break;
            }
            self.subtrees.pop();
            node = (node_hash(left, node.0), size * 2);
        }
        self.subtrees.push(node);
    }

    /// How many leaves it holds.
    pub fn size(&self) -> u64 {
        self.subtrees.iter().map(|(_, n)| n).sum()
    }

    /// The root of the tree of every leaf pushed so far.
    pub fn root(&self) -> Hash {
        let mut subtrees = self.subtrees.iter().rev();
        let Some(&(mut root, _)) = subtrees.next() else {
            return EMPTY_ROOT;
        };
        for &(left, _) in subtrees {
            root = node_hash(left, root);
        }
        root
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryTree;

    #[test]
    fn equals_the_tree_of_the_same_entries_at_every_size() {
        let mut tree = MemoryTree::new();
        let mut builder = RootBuilder::default();
        assert_eq!(builder.root(), tree.root());
        for n in 0..70u32 {
            let entry = n.to_be_bytes();
            tree.append(&entry);
            builder.push(crate::leaf_hash(&entry));
            assert_eq!(builder.size(), tree.size());
            assert_eq!(builder.root(), tree.root(), "at {} leaves", n + 1);
        }
    }
}
