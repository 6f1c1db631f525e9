//! What can be recommended: each item's category, price, unit cost and stock.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{RecommendError, Result};

/// One product. Money in minor units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogueItem {
    pub id: String,
    pub category: String,
    /// Unit list price.
    pub price: i64,
    /// Unit cost of goods, when known.
    pub unit_cost: Option<i64>,
    /// Units in stock, when tracked; 0 or less means it cannot be sold now.
    pub stock: Option<i64>,
}

impl CatalogueItem {
    /// Unit margin: price minus cost, the cost taken as `cost_ratio` × price when unknown.
    pub fn margin(&self, cost_ratio: f64) -> i64 {
        let cost = self
            .unit_cost
            .unwrap_or_else(|| (self.price as f64 * cost_ratio).round() as i64);
        self.price.saturating_sub(cost)
    }

    pub fn in_stock(&self) -> bool {
        self.stock.is_none_or(|s| s > 0)
    }
}

/// The items that can be recommended, by id.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    items: Vec<CatalogueItem>,
    index: HashMap<String, usize>,
}

impl Catalogue {
    /// Checks every item (non-empty id and category, price > 0, cost >= 0, ids unique).
    pub fn new(items: Vec<CatalogueItem>) -> Result<Self> {
        let mut index = HashMap::with_capacity(items.len());
        for (k, item) in items.iter().enumerate() {
            let place = format!("catalogue item {k}");
            check_item(&place, item)?;
            if index.insert(item.id.clone(), k).is_some() {
                return Err(input(&place, "id", &item.id, "appears twice"));
            }
        }
        Ok(Catalogue { items, index })
    }

    /// Reads a CSV file with columns `item_id,category,price[,unit_cost][,stock]` (empty cost or stock:
    /// unknown); an error names the file, line, field and value.
    pub fn read_csv(path: &Path) -> Result<Self> {
        let place = |line: u64| format!("{}:{line}", path.display());
        let mut reader = csv::Reader::from_path(path).map_err(|e| {
            input(
                &place(0),
                "file",
                &path.display().to_string(),
                &e.to_string(),
            )
        })?;
        let headers = reader
            .headers()
            .map_err(|e| input(&place(1), "header", "", &e.to_string()))?
            .clone();
        let column = |name: &str| headers.iter().position(|h| h.trim() == name);
        let required = |name: &'static str| {
            column(name).ok_or_else(|| {
                input(
                    &place(1),
                    name,
                    &headers.iter().collect::<Vec<_>>().join(","),
                    "missing column",
                )
            })
        };
        let (c_id, c_category, c_price) = (
            required("item_id")?,
            required("category")?,
            required("price")?,
        );
        let (c_cost, c_stock) = (column("unit_cost"), column("stock"));
        let mut items = Vec::new();
        let mut index = HashMap::new();
        for (k, record) in reader.records().enumerate() {
            let line = k as u64 + 2;
            let record = record.map_err(|e| input(&place(line), "row", "", &e.to_string()))?;
            let field = |c: usize| record.get(c).unwrap_or("").trim();
            let number = |name: &str, c: Option<usize>| -> Result<Option<i64>> {
                match c.map(field) {
                    None | Some("") => Ok(None),
                    Some(text) => text.parse::<i64>().map(Some).map_err(|_| {
                        input(
                            &place(line),
                            name,
                            text,
                            "must be an integer amount (minor units)",
                        )
                    }),
                }
            };
            let price = number("price", Some(c_price))?
                .ok_or_else(|| input(&place(line), "price", "", "is required"))?;
            let item = CatalogueItem {
                id: field(c_id).to_string(),
                category: field(c_category).to_string(),
                price,
                unit_cost: number("unit_cost", c_cost)?,
                stock: number("stock", c_stock)?,
            };
            check_item(&place(line), &item)?;
            if index.insert(item.id.clone(), items.len()).is_some() {
                return Err(input(&place(line), "item_id", &item.id, "appears twice"));
            }
            items.push(item);
        }
        if items.is_empty() {
            return Err(RecommendError::Empty(format!(
                "{}: no items",
                path.display()
            )));
        }
        Ok(Catalogue { items, index })
    }

    pub fn items(&self) -> &[CatalogueItem] {
        &self.items
    }

    /// Position of an item in [`Catalogue::items`].
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn get(&self, id: &str) -> Option<&CatalogueItem> {
        self.index.get(id).map(|&k| &self.items[k])
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

fn input(place: &str, field: &str, value: &str, message: &str) -> RecommendError {
    RecommendError::Input {
        place: place.to_string(),
        field: field.to_string(),
        value: value.to_string(),
        message: message.to_string(),
    }
}

fn check_item(place: &str, item: &CatalogueItem) -> Result<()> {
    if item.id.is_empty() {
        return Err(input(place, "item_id", "", "must not be empty"));
    }
    if item.category.is_empty() {
        return Err(input(place, "category", "", "must not be empty"));
    }
    if item.price <= 0 {
        return Err(input(
            place,
            "price",
            &item.price.to_string(),
            "must be > 0",
        ));
    }
    if let Some(c) = item.unit_cost {
        if c < 0 {
            return Err(input(place, "unit_cost", &c.to_string(), "must be >= 0"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_csv_and_names_the_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        std::fs::write(
            &path,
            "item_id,category,price,unit_cost,stock\na,x,1000,600,3\nb,y,500,,\n",
        )
        .unwrap();
        let c = Catalogue::read_csv(&path).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("a").unwrap().margin(0.5), 400);
        // Unknown cost: half the price.
        assert_eq!(c.get("b").unwrap().margin(0.5), 250);
        assert!(c.get("b").unwrap().in_stock());
        std::fs::write(&path, "item_id,category,price\na,x,1000\nb,y,ten\n").unwrap();
        let e = Catalogue::read_csv(&path).unwrap_err().to_string();
        assert!(
            e.contains("c.csv:3") && e.contains("price") && e.contains("ten"),
            "{e}"
        );
    }
}
