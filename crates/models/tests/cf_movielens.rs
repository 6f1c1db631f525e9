//! Collaborative filtering on MovieLens 100K: 5-fold RMSE of the rating models below Surprise's
//! published figures, and implicit models ahead of popularity at top-10.

mod common;

use common::data_file;
use discount_models::cf::{
    cross_validate, evaluate_top_k, implicit_split, read_recbole_inter, AlsParams, Bpr, BprParams,
    ImplicitAls, Popularity, RatingModel, Ratings, SgdParams,
};

fn movielens() -> anyhow::Result<Option<Ratings>> {
    let Some(path) = data_file("movielens-100k/ml-100k.inter") else {
        return Ok(None);
    };
    let ratings = read_recbole_inter(&path)?;
    assert_eq!(ratings.entries.len(), 100_000);
    assert_eq!((ratings.users(), ratings.items()), (943, 1682));
    Ok(Some(ratings))
}

fn mean_rmse(ratings: &Ratings, model: RatingModel, params: &SgdParams) -> anyhow::Result<f64> {
    let folds = cross_validate(ratings, 5, 42, model, params, |_| {})?;
    assert_eq!(folds.len(), 5);
    assert_eq!(folds.iter().map(|f| f.test).sum::<usize>(), 100_000);
    let rmse = folds.iter().map(|f| f.rmse).sum::<f64>() / 5.0;
    println!(
        "{model:?} {params:?}: folds {:?} mean {rmse:.4}",
        folds.iter().map(|f| f.rmse).collect::<Vec<_>>()
    );
    Ok(rmse)
}

#[test]
fn biased_mf_beats_surprise_svd() -> anyhow::Result<()> {
    let Some(ratings) = movielens()? else {
        return Ok(());
    };
    // Surprise's SVD: 0.934 (5-fold, defaults). Ours with the tuned settings: 0.9105.
    let rmse = mean_rmse(&ratings, RatingModel::BiasedMf, &SgdParams::movielens_svd())?;
    assert!(rmse <= 0.930, "biased MF 5-fold RMSE {rmse}");
    Ok(())
}

#[test]
fn svdpp_beats_surprise_svdpp() -> anyhow::Result<()> {
    let Some(ratings) = movielens()? else {
        return Ok(());
    };
    // Surprise's SVD++: 0.919. Ours with the tuned settings: 0.9099, the best of our models.
    let rmse = mean_rmse(
        &ratings,
        RatingModel::SvdPlusPlus,
        &SgdParams::movielens_svdpp(),
    )?;
    assert!(rmse <= 0.915, "SVD++ 5-fold RMSE {rmse}");
    Ok(())
}

#[test]
fn implicit_models_beat_popularity() -> anyhow::Result<()> {
    let Some(ratings) = movielens()? else {
        return Ok(());
    };
    let (train, test) = implicit_split(&ratings, 4.0, 0.2, 42)?;
    let (users, items) = (ratings.users(), ratings.items());
    let popularity = evaluate_top_k(
        &Popularity::fit(items, &train)?,
        users,
        items,
        &train,
        &test,
        10,
    )?;
    let als = ImplicitAls::fit(users, items, &train, &AlsParams::default())?;
    let als = evaluate_top_k(&als, users, items, &train, &test, 10)?;
    let bpr = Bpr::fit(users, items, &train, &BprParams::default())?;
    let bpr = evaluate_top_k(&bpr, users, items, &train, &test, 10)?;
    println!("popularity {popularity:?}\nALS {als:?}\nBPR {bpr:?}");
    for (name, r) in [("ALS", als), ("BPR", bpr)] {
        assert!(
            r.precision > popularity.precision * 1.2,
            "{name} p@10 {} vs popularity {}",
            r.precision,
            popularity.precision
        );
        assert!(
            r.ndcg > popularity.ndcg,
            "{name} NDCG@10 {} vs popularity {}",
            r.ndcg,
            popularity.ndcg
        );
    }
    Ok(())
}
