//! Which Rekognition moderation labels reject an image: a pure function of the labels
//! `DetectModerationLabels` returned and the policy, so the Lambda and the CLI decide alike.

use serde::{Deserialize, Serialize};

use crate::policy::PolicyError;

/// The top-level (L1) categories of Rekognition's moderation taxonomy, model version 7.0
/// (Rekognition developer guide, "Using the image and video moderation APIs", label categories)
/// that reject an image by default: sexual content, violence, drugs and tobacco, hate symbols.
/// The other L1 categories (`Non-Explicit Nudity of Intimate parts and Kissing`,
/// `Swimwear or Underwear`, `Visually Disturbing`, `Alcohol`, `Rude Gestures`, `Gambling`) are
/// left to the operator's policy.
pub const DEFAULT_REJECT_CATEGORIES: &[&str] = &["Explicit", "Violence", "Drugs & Tobacco", "Hate Symbols"];

/// `DetectModerationLabels`' own default for `MinConfidence` (API reference: labels with a
/// confidence of 50 percent or more are returned when it is not given).
pub const DEFAULT_MIN_CONFIDENCE: f32 = 50.0;

/// The moderation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ModerationPolicy {
    /// Whether images are sent to Rekognition at all.
    pub enabled: bool,
    /// Lowest confidence (percent) at which a label counts; also what to send as `MinConfidence`.
    pub min_confidence: f32,
    /// Label names that reject an image when the label or any of its ancestors has one of them
    /// (compared without regard to ASCII case).
    pub reject_categories: Vec<String>,
}

impl Default for ModerationPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            min_confidence: DEFAULT_MIN_CONFIDENCE,
            reject_categories: DEFAULT_REJECT_CATEGORIES.iter().map(|c| (*c).to_owned()).collect(),
        }
    }
}

impl ModerationPolicy {
    /// Parses a comma-separated list of label names (`Explicit, Violence`). Label names hold no
    /// commas in model 7.0. Empty items are dropped; an empty list is refused.
    pub fn parse_categories(list: &str) -> Result<Vec<String>, PolicyError> {
        let v: Vec<String> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        if v.is_empty() { Err(PolicyError::EmptyCategoryList) } else { Ok(v) }
    }

    /// Parses a minimum confidence: a finite number from 0 to 100.
    pub fn parse_min_confidence(s: &str) -> Result<f32, PolicyError> {
        s.trim()
            .parse::<f32>()
            .ok()
            .filter(|c| c.is_finite() && (0.0..=100.0).contains(c))
            .ok_or_else(|| PolicyError::ConfidenceOutOfRange(s.trim().to_owned()))
    }
}

/// One `ModerationLabel` as `DetectModerationLabels` returns it (API reference, ModerationLabel:
/// every member optional; a top-level label's `ParentName` is `""`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModerationLabel {
    /// The label.
    #[serde(default)]
    pub name: String,
    /// Its parent in the taxonomy, `""` at the top.
    #[serde(default)]
    pub parent_name: String,
    /// Percent, 0 to 100.
    #[serde(default)]
    pub confidence: f32,
    /// 1, 2 or 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxonomy_level: Option<u8>,
}

/// A label that rejected an image, and the category it matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelMatch {
    /// The label Rekognition returned.
    pub label: String,
    /// The configured category it matched: the label itself or one of its ancestors.
    pub category: String,
    /// The label's confidence.
    pub confidence: f32,
}

/// The deepest taxonomy there is (three levels) plus room for a malformed chain; a loop in
/// `ParentName`s stops here.
const MAX_ANCESTORS: usize = 8;

/// The labels that reject: those with a confidence of at least `min_confidence` whose name, or
/// the name of any ancestor, is one of the reject categories. Ancestors are the `ParentName`
/// chain: the parent named even when Rekognition did not return it as a label of its own, and
/// further up through the returned labels. Order is Rekognition's; a label matches once (its
/// nearest matching category).
pub fn judge_labels(labels: &[ModerationLabel], policy: &ModerationPolicy) -> Vec<LabelMatch> {
    let category = |name: &str| policy.reject_categories.iter().find(|c| c.trim().eq_ignore_ascii_case(name.trim()));
    let parent_of = |name: &str| {
        labels.iter().find(|l| l.name.trim().eq_ignore_ascii_case(name.trim())).map(|l| l.parent_name.as_str())
    };
    labels
        .iter()
        // NaN compares false: an unreadable confidence does not count as low.
        .filter(|l| l.confidence.is_nan() || l.confidence >= policy.min_confidence)
        .filter_map(|l| {
            let mut name = l.name.as_str();
            let mut next = Some(l.parent_name.as_str());
            for _ in 0..MAX_ANCESTORS {
                if !name.trim().is_empty()
                    && let Some(c) = category(name)
                {
                    return Some(LabelMatch { label: l.name.clone(), category: c.clone(), confidence: l.confidence });
                }
                name = next.filter(|p| !p.trim().is_empty())?;
                next = parent_of(name);
            }
            None
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(name: &str, parent: &str, confidence: f32, level: u8) -> ModerationLabel {
        ModerationLabel { name: name.into(), parent_name: parent.into(), confidence, taxonomy_level: Some(level) }
    }

    #[test]
    fn a_top_level_category_matches_its_descendants() {
        let labels = [
            label("Explicit", "", 99.1, 1),
            label("Explicit Nudity", "Explicit", 98.7, 2),
            label("Exposed Male Genitalia", "Explicit Nudity", 97.0, 3),
        ];
        let m = judge_labels(&labels, &ModerationPolicy::default());
        assert_eq!(m.len(), 3);
        assert!(m.iter().all(|m| m.category == "Explicit"));
        assert_eq!(m.get(2).map(|m| m.label.as_str()), Some("Exposed Male Genitalia"));
    }

    #[test]
    fn an_l3_label_matches_through_parents_not_returned() {
        // Only the L3 label came back; its parent names L2, whose parent is unknown here.
        let only_child = [label("Weapon Violence", "Violence", 90.0, 2)];
        assert_eq!(judge_labels(&only_child, &ModerationPolicy::default()).len(), 1);
        let deep = [label("Graphic Violence", "Violence", 80.0, 2), label("Blood & Gore", "Graphic Violence", 85.0, 3)];
        let m = judge_labels(&deep, &ModerationPolicy::default());
        assert_eq!(m.iter().map(|m| m.label.as_str()).collect::<Vec<_>>(), ["Graphic Violence", "Blood & Gore"]);
    }

    #[test]
    fn below_min_confidence_or_other_categories_do_not_reject() {
        let labels = [
            label("Explicit", "", 49.9, 1),
            label("Alcohol", "", 99.0, 1),
            label("Alcoholic Beverages", "Alcohol", 99.0, 2),
            label("Swimwear or Underwear", "", 95.0, 1),
        ];
        assert!(judge_labels(&labels, &ModerationPolicy::default()).is_empty());
        let strict = ModerationPolicy { min_confidence: 40.0, ..ModerationPolicy::default() };
        assert_eq!(judge_labels(&labels, &strict).len(), 1);
        let with_alcohol =
            ModerationPolicy { reject_categories: vec!["alcohol".into()], ..ModerationPolicy::default() };
        let m = judge_labels(&labels, &with_alcohol);
        assert_eq!(m.iter().map(|m| m.label.as_str()).collect::<Vec<_>>(), ["Alcohol", "Alcoholic Beverages"]);
        assert_eq!(m.first().map(|m| m.category.as_str()), Some("alcohol"));
    }

    #[test]
    fn a_category_can_be_an_l2_label() {
        let p = ModerationPolicy { reject_categories: vec!["Explicit Sexual Activity".into()], ..Default::default() };
        let labels = [label("Explicit", "", 99.0, 1), label("Explicit Sexual Activity", "Explicit", 99.0, 2)];
        let m = judge_labels(&labels, &p);
        assert_eq!(m.iter().map(|m| m.label.as_str()).collect::<Vec<_>>(), ["Explicit Sexual Activity"]);
    }

    #[test]
    fn a_parent_loop_ends() {
        let labels = [label("A", "B", 99.0, 2), label("B", "A", 99.0, 2)];
        assert!(judge_labels(&labels, &ModerationPolicy::default()).is_empty());
        let blank = [label("", "", 99.0, 1)];
        assert!(judge_labels(&blank, &ModerationPolicy::default()).is_empty());
    }

    #[test]
    fn parses_rekognitions_json_shape() {
        let json = r#"[{"Confidence": 99.1, "Name": "Hate Symbols", "ParentName": "", "TaxonomyLevel": 1},
                       {"Name": "Nazi Party", "ParentName": "Hate Symbols", "Confidence": 97.5}]"#;
        let labels: Vec<ModerationLabel> = serde_json::from_str(json).expect("json");
        assert_eq!(labels.get(1).map(|l| l.taxonomy_level), Some(None));
        assert_eq!(judge_labels(&labels, &ModerationPolicy::default()).len(), 2);
    }

    #[test]
    fn parses_settings() {
        assert_eq!(
            ModerationPolicy::parse_categories(" Explicit ,, Violence"),
            Ok(vec!["Explicit".into(), "Violence".into()])
        );
        assert_eq!(ModerationPolicy::parse_categories(" , "), Err(PolicyError::EmptyCategoryList));
        assert_eq!(ModerationPolicy::parse_min_confidence("75.5"), Ok(75.5));
        for bad in ["-1", "100.1", "NaN", "inf", "high"] {
            assert!(ModerationPolicy::parse_min_confidence(bad).is_err(), "{bad}");
        }
    }
}
